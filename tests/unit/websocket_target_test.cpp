// The api's side of a WebSocket before and around its session (docs/design.md §4): whose socket
// an upgrade is for, and which sockets a user's events reach.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/router.hpp"
#include "api/websocket/ws_registry.hpp"

// A namespace of its own: the unity build may put this file beside another with the same helpers.
namespace streamgate::websocket_target_test {
namespace {

using http::verb;

// A registry sink that keeps what it was handed.
class recording_sink final : public event_sink {
 public:
  void deliver(std::shared_ptr<const user_event> event) override { events.push_back(event->text); }
  void notify(std::shared_ptr<const std::string> message) override { events.push_back(*message); }
  void resync() override { ++resyncs; }
  void shut_down() override { shut = true; }

  int resyncs = 0;

  std::vector<std::string> events;
  bool shut = false;
};

TEST_CASE("the WebSocket target needs an upgrade and a valid user", "[api][router]") {
  const auto upgrade = [](std::string target) {
    http_request request{verb::get, target, 11};
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::upgrade, "websocket");
    request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    request.set(http::field::sec_websocket_version, "13");
    return request;
  };
  const auto ok = websocket_user(upgrade("/ws?user=alice"));
  REQUIRE(ok.has_value());
  CHECK(*ok == "alice");
  CHECK(websocket_user(upgrade("/ws?user=alice&user=bob")).error().message.find("more than once") !=
        std::string::npos);
  for (const std::string_view key :
       {"", "abc", "dGhlIHNhbXBsZSBub25jZQ=A", "dGhlIHNhbXBsZSBub25jZQ"}) {
    CAPTURE(key);
    http_request request = upgrade("/ws?user=alice");
    request.set(http::field::sec_websocket_key, key);
    CHECK(websocket_user(request).error().message.find("Sec-WebSocket-Key") != std::string::npos);
  }
  http_request two_keys = upgrade("/ws?user=alice");
  two_keys.insert(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(websocket_user(two_keys).error().code == error_code::bad_request);
  // RFC 6455 §4.2.2: a version other than 13 is 426 (the answer names 13), none at all 400.
  for (const std::string_view version : {"8", "13, 8", "abc", "14", ""}) {
    CAPTURE(version);
    http_request request = upgrade("/ws?user=alice");
    request.set(http::field::sec_websocket_version, version);
    CHECK(websocket_user(request).error().code == error_code::upgrade_required);
  }
  http_request no_version = upgrade("/ws?user=alice");
  no_version.erase(http::field::sec_websocket_version);
  CHECK(websocket_user(no_version).error().message.find("Sec-WebSocket-Version") !=
        std::string::npos);
  http_request two_versions = upgrade("/ws?user=alice");
  two_versions.insert(http::field::sec_websocket_version, "13");
  CHECK(websocket_user(two_versions).error().code == error_code::bad_request);
  CHECK(websocket_user(upgrade("/ws")).error().code == error_code::bad_request);
  CHECK(websocket_user(upgrade("/ws?user=a%20b")).error().message.find("'user'") !=
        std::string::npos);
  CHECK(websocket_user(upgrade("/other?user=alice")).error().code == error_code::not_found);
  CHECK(websocket_user(http_request{verb::get, "/ws?user=alice", 11}).error().code ==
        error_code::bad_request);
}

TEST_CASE("a user's events reach only that user's sockets", "[api][ws_registry]") {
  ws_registry registry;
  const auto alice = std::make_shared<recording_sink>();
  const auto alice_too = std::make_shared<recording_sink>();
  const auto bob = std::make_shared<recording_sink>();
  registry.add("alice", alice);
  registry.add("alice", alice_too);
  registry.add("bob", bob);

  registry.publish("alice", R"({"type":"ended"})", {"e_1", 1});
  CHECK(alice->events == std::vector<std::string>{R"({"type":"ended"})"});
  CHECK(alice_too->events.size() == 1);
  CHECK(bob->events.empty());

  registry.remove("alice", alice.get());
  registry.publish("alice", "x", {"e_1", 2});
  CHECK(alice->events.size() == 1);
  CHECK(alice_too->events.size() == 2);
  CHECK(registry.size() == 2);

  registry.resync_all();
  CHECK(alice->resyncs == 0);
  CHECK(alice_too->resyncs == 1);
  CHECK(bob->resyncs == 1);

  registry.shut_down_all();
  CHECK(alice_too->shut);
  CHECK(bob->shut);

  CHECK(registry.users() == 2);
  registry.remove("alice", alice_too.get());
  registry.remove("bob", bob.get());
  CHECK(registry.size() == 0);
  CHECK(registry.users() == 0);
  CHECK(registry.count_of("alice") == 0);
}

}  // namespace
}  // namespace streamgate::websocket_target_test
