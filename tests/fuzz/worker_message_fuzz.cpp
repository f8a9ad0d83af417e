// libFuzzer harness: the worker's message path up to the decision core. A request frame from the
// network is decoded and, when valid, decided by the real core on the state of its user, so a
// hostile or corrupt message can neither crash the worker nor break the limit. Each decision is
// made again on a copy of the user's state without the core's list aids (as a store loads it),
// and both must agree: the aids change no decision (worker/core/user_state.hpp, list_aids). (The
// store under the core only stores; its own tests cover it against real stores.)
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "common/codec.hpp"
#include "worker/core/decisions.hpp"

using namespace streamgate;

namespace {

core::rules make_rules() {
  core::rules r;
  r.plans = {plan{"basic", 1, policy::deny}, plan{"premium", 4, policy::evict_oldest}};
  return r;
}

std::map<std::string, core::user_state> make_users(const core::rules& r) {
  std::map<std::string, core::user_state> users;
  for (const char* id : {"alice", "bob", "carol"}) {
    create_user_request request{id, id, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (std::string_view(id) == "bob") request.plan = "basic";
    users.emplace(id, core::create_user(request, id, r).value());
  }
  return users;
}

bool same(const core::effects& a, const core::effects& b) {
  if (a.events.size() != b.events.size() || !(a.audit == b.audit)) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i)
    if (a.events[i].seq != b.events[i].seq || !(a.events[i].what == b.events[i].what)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One set of users for the whole run: state built up by earlier inputs makes later ones reach
  // deeper paths (replays, evictions, stops of live streams).
  static const core::rules rules = make_rules();
  static std::map<std::string, core::user_state> users = make_users(rules);
  static std::int64_t now_ms = 1'700'000'000'000;
  static std::map<std::string, core::user_state> plain = users;
  static std::uint64_t stream_number = 0;

  auto decoded = decode_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded) return 0;
  now_ms += 1000;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { r.user_id; }) {
          const auto found = users.find(r.user_id);
          if (found == users.end()) return;
          const std::string stream_id = "s_" + std::to_string(++stream_number);
          const auto decide = [&](core::user_state& state, core::effects& out) {
            if constexpr (std::is_same_v<T, start_request>)
              core::start(state, r, r.video_id == "v01", stream_id, now_ms, rules, out);
            else if constexpr (std::is_same_v<T, heartbeat_request>)
              (void)core::heartbeat(state, r.stream_id, now_ms, rules, out);
            else if constexpr (std::is_same_v<T, stop_request>)
              (void)core::stop(state, r.stream_id, now_ms, rules, out);
            else if constexpr (std::is_same_v<T, stop_all_request>)
              core::stop_all(state, now_ms, rules, out);
            else
              core::expire(state, now_ms, rules, out);
          };
          core::effects out;
          decide(found->second, out);
          core::user_state& without_aids = plain.at(r.user_id);
          without_aids.aids = {};
          core::effects plain_out;
          decide(without_aids, plain_out);
          if (!(found->second == without_aids) || !same(out, plain_out))
            throw std::logic_error("the list aids changed a decision of " + r.user_id);
        }
      },
      decoded->body);

  for (const auto& [id, state] : users) {
    // No patch runs here (a lowered limit may leave streams above it until the next start), so
    // every user is always within the limit.
    if (static_cast<int>(state.streams.size()) > core::limit_of(state.u, rules))
      throw std::logic_error("a user is above the limit: " + id);
    if (state.starts.size() > core::with_slack(rules.max_remembered_starts))
      throw std::logic_error("a user remembers more starts than the cap");
  }
  return 0;
}
