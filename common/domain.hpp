#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamgate {

// What happens to a start when the user is at the limit (docs/design.md, "Domain"): deny it,
// end the user's oldest stream to make room, or allow it and record that it was over the limit
// (shadow mode for a rollout).
enum class policy { deny, evict_oldest, monitor };

std::string_view to_string(policy p);
std::optional<policy> parse_policy(std::string_view text);

struct user {
  std::string id;
  std::string name;
  std::optional<int> max_streams;        // overrides the default limit when set
  std::optional<policy> policy_override;  // overrides the global policy when set
  std::optional<std::string> plan{};      // the plan's limit and policy apply unless overridden
  // SHA-256 hex of the user's bearer token; empty for users without one (the demo catalog's).
  std::string token_hash{};

  bool operator==(const user&) const = default;
};

// A named limit and policy; a user's own max_streams / policy override the plan's.
struct plan {
  std::string id;
  int max_streams = 0;
  policy limit_policy = policy::deny;

  bool operator==(const plan&) const = default;
};

struct video {
  std::string id;
  std::string title;
  int duration_seconds = 0;
  bool operator==(const video&) const = default;
};

// One playback on one device.
struct stream {
  std::string stream_id;
  std::string user_id;
  std::string video_id;
  std::string session_id;
  std::int64_t started_at_ms = 0;
  std::int64_t expires_at_ms = 0;

  bool operator==(const stream&) const = default;
};

enum class end_reason { stopped, expired, evicted, stop_all, deleted };

std::string_view to_string(end_reason r);

// The decision on one start request. Kept as decided: a replayed requestId gets this again.
struct verdict {
  std::string request_id;
  std::string user_id;
  std::string video_id;
  std::string session_id;
  bool allowed = false;
  std::optional<stream> granted;  // the stream, when allowed
  int active = 0;                 // the user's active streams after the decision
  int limit = 0;
  std::string reason;            // why it was denied: "limit_reached", "unknown_video"
  bool over_limit = false;        // allowed under the monitor policy although at the limit
  std::vector<stream> streams;    // the user's active streams, when denied
  std::int64_t decided_at_ms = 0;
  bool operator==(const verdict&) const = default;
};

struct ended_event {
  std::string stream_id;
  std::string user_id;
  end_reason reason = end_reason::stopped;
  bool operator==(const ended_event&) const = default;
};

// One durable line of a user's audit trail (GET /api/v1/users/{id}/events): a verdict
// ("allowed", "denied") or how a stream ended (to_string(end_reason)). Empty strings are absent.
struct audit_entry {
  std::string user_id;
  std::int64_t at_ms = 0;
  std::string type;
  std::string stream_id;
  std::string request_id;
  std::string video_id;
  std::string reason;
  bool operator==(const audit_entry&) const = default;
};

}  // namespace streamgate
