// libFuzzer harness: every decoder that reads bytes from a client (REST bodies, WebSocket
// messages), from a worker (the playback note) or from disk (the catalog) must refuse bad input
// with an error, never crash, hang or read out of bounds. A playback note it accepts must encode
// back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/codec.hpp"
#include "common/messages.hpp"

using namespace streamgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  (void)decode_start_body(input);
  (void)decode_create_user_body(input);
  (void)decode_patch_user_body(input, "fuzz-user");
  (void)decode_ws_client_message(input);
  // The playback note a worker adds to a reply or an event (common/messages.hpp) is strict: what
  // parses renders back to the same bytes.
  if (auto note = parse_playback_note(input))
    if (encode_playback_note(*note) != input) __builtin_trap();
  // So is the position that begins a message of events and ends a heartbeat, bar leading zeros
  // in its count (the worker writes none).
  if (auto position = parse_event_position(input))
    if (parse_event_position(encode_event_position(*position)) != position) __builtin_trap();
  // And the worker lives a heartbeat names, with no leeway at all.
  if (auto lives = parse_worker_lives(input))
    if (encode_worker_lives(*lives) != input) __builtin_trap();
  // The catalog's plans and users are rendered by the api (api/views), which this harness does
  // not link; decoding is what reads the file.
  (void)decode_catalog(input);
  return 0;
}
