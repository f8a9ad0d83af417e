// What a worker sends after a batch (worker/server/outgoing.hpp, frames in common/messages.hpp):
// each api's replies as one message in the batch's order, the events as one, and never more than
// max_entries_per_message entries in a message; each message of events numbered.

#include "worker/server/outgoing.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/messages.hpp"

using namespace streamgate;

namespace {

std::vector<zmq::message_t> receive(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  REQUIRE(zmq::recv_multipart(socket, std::back_inserter(frames)).has_value());
  return frames;
}

zmq::socket_t dealer(zmq::context_t& context, const std::string& name) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::routing_id, name);
  socket.set(zmq::sockopt::rcvtimeo, 5000);
  socket.connect("inproc://outgoing-replies");
  return socket;
}

// The first frame of each entry (a corr, or a topic), and checks every entry has four frames.
std::vector<std::string> heads(const std::vector<zmq::message_t>& frames) {
  REQUIRE(frames.size() % 4 == 0);
  std::vector<std::string> out;
  for (std::size_t f = 0; f < frames.size(); f += 4) out.push_back(frames[f].to_string());
  return out;
}

// A message of events: its position, then the entries. Returns the position; `entries` the rest.
std::string numbered(std::vector<zmq::message_t> frames, std::vector<zmq::message_t>& entries) {
  REQUIRE(!frames.empty());
  const std::string number = frames.front().to_string();
  entries.clear();
  for (std::size_t f = 1; f < frames.size(); ++f) entries.push_back(std::move(frames[f]));
  return number;
}

}  // namespace

TEST_CASE("a batch's replies go to each api as one message, in the batch's order",
          "[unit][outgoing]") {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::rcvtimeo, 5000);
  router.bind("inproc://outgoing-replies");
  zmq::socket_t a = dealer(context, "api-a");
  zmq::socket_t b = dealer(context, "api-b");
  // As in the worker, an api's identity is the one its requests came with.
  std::vector<zmq::message_t> identities;
  for (zmq::socket_t* api : {&a, &b}) {
    api->send(zmq::str_buffer("request"), zmq::send_flags::none);
    identities.push_back(std::move(receive(router).front()));
  }
  const auto to = [&](std::size_t api, std::uint64_t corr) {
    reply_address address;
    address.identity.copy(identities[api]);
    address.corr = corr;
    return address;
  };

  std::vector<reply_address> addresses;
  addresses.push_back(to(0, 1));
  addresses.push_back(to(1, 2));
  addresses.push_back(to(0, 3));
  addresses.push_back(to(0, 4));
  addresses.push_back(to(1, 5));
  std::vector<reply> answers(addresses.size(), reply{outcome::ok, {}, ""});
  answers[2] = reply{outcome::not_found, {}, "end st_1"};
  send_replies(router, addresses, answers);

  const std::vector<zmq::message_t> to_a = receive(a);
  CHECK(heads(to_a) == std::vector<std::string>{"1", "3", "4"});
  CHECK(to_a[1].to_string() == "ok");
  CHECK(to_a[3].to_string().empty());  // no playback note
  CHECK(to_a[5].to_string() == "not_found");
  CHECK(to_a[7].to_string() == "end st_1");
  CHECK(heads(receive(b)) == std::vector<std::string>{"2", "5"});

  SECTION("more replies than a message holds leave as several, in order") {
    const std::size_t count = 2 * max_entries_per_message + 2;
    std::vector<reply_address> many;
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < count; ++i) {
      many.push_back(to(0, 100 + i));
      expected.push_back(std::to_string(100 + i));
    }
    send_replies(router, many, std::vector<reply>(count, reply{outcome::ok, {}, ""}));
    std::vector<std::string> received;
    for (const std::size_t size :
         {max_entries_per_message, max_entries_per_message, std::size_t{2}}) {
      const std::vector<std::string> message = heads(receive(a));
      CHECK(message.size() == size);
      received.insert(received.end(), message.begin(), message.end());
    }
    CHECK(received == expected);
  }
}

TEST_CASE("a batch's events leave numbered, as one message, several past the entries' cap",
          "[unit][outgoing]") {
  zmq::context_t context;
  // Any socket sends the frames alike; a PAIR over inproc delivers them without the PUB's
  // subscription handshake.
  zmq::socket_t out(context, zmq::socket_type::pair);
  out.bind("inproc://outgoing-events");
  zmq::socket_t in(context, zmq::socket_type::pair);
  in.set(zmq::sockopt::rcvtimeo, 5000);
  in.connect("inproc://outgoing-events");

  std::vector<published_event> events;
  for (std::size_t i = 0; i < max_entries_per_message + 3; ++i)
    events.push_back({"user-" + std::to_string(i), verdict{}, "dataset " + std::to_string(i + 1),
                      i == 1 ? "end st_1" : ""});
  event_position published{"l_life", 41};  // published before, in this life
  publish_events(out, events, published);
  CHECK(published == event_position{"l_life", 43});

  std::vector<zmq::message_t> first;
  CHECK(numbered(receive(in), first) == "l_life 42");
  const std::vector<std::string> topics = heads(first);
  REQUIRE(topics.size() == max_entries_per_message);
  CHECK(topics.front() == "user-0");
  CHECK(first[2].to_string() == "dataset 1");
  CHECK(first[3].to_string().empty());
  CHECK(first[7].to_string() == "end st_1");
  std::vector<std::string> rest;
  for (std::size_t i = max_entries_per_message; i < events.size(); ++i)
    rest.push_back("user-" + std::to_string(i));
  std::vector<zmq::message_t> second;
  CHECK(numbered(receive(in), second) == "l_life 43");
  CHECK(heads(second) == rest);

  publish_events(out, {}, published);
  out.send(zmq::str_buffer("after"), zmq::send_flags::none);
  CHECK(receive(in).front().to_string() == "after");  // no events, no message
  CHECK(published.published == 43);                   // and no number taken
}
