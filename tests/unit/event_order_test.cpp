// The order a WebSocket sends a user's events and snapshots in (api/websocket/event_order.hpp).

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "api/websocket/event_order.hpp"

namespace {

using namespace streamgate;

message_ptr text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

std::vector<std::string> texts(const std::vector<message_ptr>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(*m);
  return out;
}

// A socket that got the snapshot of epoch e_1 at seq 3 and sends nothing else yet.
struct ordered_socket {
  event_order order;
  std::vector<message_ptr> sent;

  ordered_socket() {
    REQUIRE(order.begin_fetch());
    REQUIRE_FALSE(order.on_snapshot(text("snap@3"), {"e_1", 3}, sent));
    sent.clear();
  }
  bool event(const std::string& name, const std::string& epoch, std::uint64_t seq) {
    return order.on_event(text(name), {epoch, seq}, sent);
  }
};

}  // namespace

TEST_CASE("events in sequence go out at once and ask for nothing", "[api][event_order]") {
  ordered_socket s;
  CHECK_FALSE(s.event("e4", "e_1", 4));
  CHECK_FALSE(s.event("e5", "e_1", 5));
  CHECK(texts(s.sent) == std::vector<std::string>{"e4", "e5"});
  CHECK_FALSE(s.order.fetching());
}

TEST_CASE("an event out of sequence goes out and asks for a snapshot", "[api][event_order]") {
  ordered_socket s;
  const auto [name, epoch, seq] = GENERATE(table<std::string, std::string, std::uint64_t>({
      {"gap", "e_1", 6},         // 4 and 5 were dropped
      {"straggler", "e_1", 2},   // a late one from another worker
      {"restart", "e_2", 1},     // the worker restarted
  }));
  CAPTURE(name);
  CHECK(s.event(name, epoch, seq));
  CHECK(texts(s.sent) == std::vector<std::string>{name});
  CHECK(s.order.fetching());
  SECTION("a second one while the snapshot is fetched is held, not asked again") {
    CHECK_FALSE(s.event("later", epoch, seq + 1));
    CHECK(s.sent.size() == 1);
    CHECK(s.order.held() == 1);
  }
}

TEST_CASE("a socket's first message is its snapshot: what it reflects is not sent",
          "[api][event_order]") {
  event_order order;
  std::vector<message_ptr> sent;
  REQUIRE(order.begin_fetch());
  CHECK_FALSE(order.on_event(text("e3"), {"e_1", 3}, sent));
  CHECK_FALSE(order.on_event(text("e5"), {"e_1", 5}, sent));
  CHECK_FALSE(order.on_snapshot(text("snap@4"), {"e_1", 4}, sent));
  CHECK(texts(sent) == std::vector<std::string>{"snap@4", "e5"});
}

TEST_CASE("held events go out around a later snapshot: reflected ones before, later ones after",
          "[api][event_order]") {
  ordered_socket s;
  event_order& order = s.order;
  std::vector<message_ptr>& sent = s.sent;
  REQUIRE(order.begin_fetch());
  CHECK_FALSE(order.on_event(text("e12"), {"e_1", 12}, sent));
  CHECK_FALSE(order.on_event(text("e10"), {"e_1", 10}, sent));
  CHECK_FALSE(order.on_event(text("e11"), {"e_1", 11}, sent));
  CHECK(sent.empty());

  CHECK_FALSE(order.on_snapshot(text("snap@10"), {"e_1", 10}, sent));
  CHECK(texts(sent) == std::vector<std::string>{"e10", "snap@10", "e11", "e12"});
  CHECK(order.held() == 0);
  sent.clear();
  CHECK_FALSE(order.on_event(text("e13"), {"e_1", 13}, sent));
  CHECK(texts(sent) == std::vector<std::string>{"e13"});
}

TEST_CASE("a held event after a gap past the snapshot asks for another", "[api][event_order]") {
  ordered_socket s;
  event_order& order = s.order;
  std::vector<message_ptr>& sent = s.sent;
  REQUIRE(order.begin_fetch());
  CHECK_FALSE(order.on_event(text("e9"), {"e_1", 9}, sent));
  CHECK(order.on_snapshot(text("snap@5"), {"e_1", 5}, sent));
  CHECK(texts(sent) == std::vector<std::string>{"snap@5", "e9"});
  CHECK(order.fetching());
}

TEST_CASE("a held event of another epoch asks for another snapshot", "[api][event_order]") {
  ordered_socket s;
  event_order& order = s.order;
  std::vector<message_ptr>& sent = s.sent;
  REQUIRE(order.begin_fetch());
  CHECK_FALSE(order.on_event(text("new-epoch"), {"e_2", 1}, sent));
  CHECK(order.on_snapshot(text("snap"), {"e_1", 4}, sent));
  CHECK(texts(sent) == std::vector<std::string>{"new-epoch", "snap"});
}

TEST_CASE("without a snapshot the held events go out as they came", "[api][event_order]") {
  event_order order;
  std::vector<message_ptr> sent;
  REQUIRE(order.begin_fetch());
  CHECK_FALSE(order.begin_fetch());
  CHECK_FALSE(order.on_event(text("b"), {"e_1", 2}, sent));
  CHECK_FALSE(order.on_event(text("a"), {"e_1", 1}, sent));
  order.give_up(sent);
  CHECK(texts(sent) == std::vector<std::string>{"b", "a"});
  CHECK_FALSE(order.fetching());
  SECTION("and the next event asks again, since nothing is known") {
    sent.clear();
    CHECK(order.on_event(text("c"), {"e_1", 3}, sent));
    CHECK(texts(sent) == std::vector<std::string>{"c"});
  }
}

TEST_CASE("sequence frames parse strictly", "[api][event_order]") {
  const auto mark = parse_sequence_frame("e_abc 42");
  REQUIRE(mark);
  CHECK(mark->epoch == "e_abc");
  CHECK(mark->seq == 42);
  const std::string bad = GENERATE("", "e_1", " 4", "e_1 ", "e_1 x", "e_1 4x", "e_1 -1",
                                   "e_1 99999999999999999999");
  CAPTURE(bad);
  CHECK_FALSE(parse_sequence_frame(bad));
}
