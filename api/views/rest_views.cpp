// The REST bodies of docs/design.md §3, from the worker's typed replies (api/views/views.hpp).

#include <type_traits>
#include <variant>

#include "api/views/json_parts.hpp"
#include "api/views/views.hpp"

namespace streamgate {

using namespace codec_detail;
using namespace view_parts;

namespace {

template <class T, class Write>
void write_array(json_writer& w, const std::vector<T>& items, Write&& write_one) {
  w.StartArray();
  for (const T& item : items) write_one(w, item);
  w.EndArray();
}

void write_verdict_body(json_writer& w, const verdict& v, const playback_pass* pass) {
  w.StartObject();
  write_pass(w, pass);
  put(w, "requestId", v.request_id);
  if (v.allowed) {
    put(w, "verdict", "allowed");
    write_granted(w, v);
    put_int(w, "active", v.active);
    put_int(w, "limit", v.limit);
    write_over_limit(w, v);
  } else {
    put(w, "verdict", "denied");
    put(w, "reason", v.reason);
    put_int(w, "active", v.active);
    put_int(w, "limit", v.limit);
    put_key(w, "streams");
    write_streams(w, v.streams);
  }
  w.EndObject();
}

}  // namespace

std::string render_body(const reply_body& body, const playback_pass* pass) {
  if (const auto* s = std::get_if<user_snapshot>(&body)) return render_snapshot(*s);
  return render([&](json_writer& w) {
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            w.StartObject();
            w.EndObject();
          } else if constexpr (std::is_same_v<T, error>) {
            w.StartObject();
            write_error_member(w, b);
            w.EndObject();
          } else if constexpr (std::is_same_v<T, user_view>) {
            write_user(w, b);
          } else if constexpr (std::is_same_v<T, std::vector<user_view>>) {
            write_array(w, b, write_user);
          } else if constexpr (std::is_same_v<T, std::vector<stream>>) {
            write_streams(w, b);
          } else if constexpr (std::is_same_v<T, verdict>) {
            write_verdict_body(w, b, pass);
          } else if constexpr (std::is_same_v<T, lease>) {
            w.StartObject();
            write_pass(w, pass);
            put_time(w, "expiresAt", b.expires_at_ms);
            w.EndObject();
          } else if constexpr (std::is_same_v<T, video>) {
            write_video(w, b);
          } else if constexpr (std::is_same_v<T, std::vector<video>>) {
            write_array(w, b, write_video);
          } else if constexpr (std::is_same_v<T, std::vector<plan>>) {
            write_array(w, b, write_plan);
          } else if constexpr (std::is_same_v<T, std::vector<audit_entry>>) {
            write_array(w, b, write_audit_entry);
          } else if constexpr (std::is_same_v<T, worker_stats> ||
                               std::is_same_v<T, clock_reading>) {
            // Read by /metrics (render_worker_stats) and the worker link (a ping's clock) only,
            // never sent to a client as JSON.
            w.StartObject();
            w.EndObject();
          } else {
            static_assert(std::is_same_v<T, user_snapshot>);  // rendered above
          }
        },
        body);
  });
}

std::string render_error(const error& e) {
  return render([&](json_writer& w) {
    w.StartObject();
    write_error_member(w, e);
    w.EndObject();
  });
}

std::string render_error(error_code code, std::string_view message) {
  return render_error(error{code, std::string(message)});
}

std::string render_start_error(const error& e, std::string_view request_id) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", request_id);
    write_error_member(w, e);
    w.EndObject();
  });
}

std::string render_pending(std::string_view request_id) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", request_id);
    put(w, "status", "pending");
    w.EndObject();
  });
}

std::string render_user_with_token(const user_view& v, std::string_view token) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "token", token);
    write_user_members(w, v);
    w.EndObject();
  });
}

std::string render_users(const std::vector<user_view>& users, std::size_t count) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (std::size_t i = 0; i < users.size() && i < count; ++i) write_user(w, users[i]);
    w.EndArray();
  });
}

}  // namespace streamgate
