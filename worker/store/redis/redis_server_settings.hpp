#pragma once

// Whether a Redis server keeps what it acknowledges. A verdict is published only once the store
// has it (docs/design.md §8, "A Redis that keeps what it acknowledges"), which holds only on a
// server that never evicts a key and syncs each write to its AOF before it answers; anything else
// loses users, streams and request owners silently (found by a black-box probe). So the router asks
// every master it connects to, and the store asks them all again at each seeded(), the worker's
// once-a-second look at its dataset: a CONFIG SET made while the worker runs is noticed there.
// Internal to the Redis store.

#include "worker/store/redis/router.hpp"

namespace streamgate::redis_detail {

// The check for the router (redis_node_check): each master's maxmemory-policy, appendonly and
// appendfsync, one CONFIG GET; a master set otherwise is refused with store_lost naming it, each
// setting, its value and the one needed; one that hides them is warned about once and served.
redis_node_check durable_settings_check();

}  // namespace streamgate::redis_detail
