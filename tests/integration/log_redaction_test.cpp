// Tokens never reach a log (docs/design.md §6), also when a client sends one in a form the api
// does not read: the api's own debug access log, read from its output file.

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

TEST_CASE("a token sent in a form the api does not read never reaches its log",
          "[integration][logs]") {
  stack s(stack_options{}.api_args({"--log-level", "debug"}));
  http_client http(s.http_port());
  const std::string user_token = "alice." + std::string(43, 'S');
  // Each target, and the line the access log must show for it instead.
  const std::vector<std::pair<std::string, std::string>> sent{
      {"/api/v1/videos?token%5B%5D=SECRET-1", "/api/v1/videos?token%5B%5D=REDACTED"},
      {"/api/v1/videos?user=alice;token=SECRET-2", "/api/v1/videos?user=alice;token=REDACTED"},
      {"/api/v1/videos?access_token=SECRET-3", "/api/v1/videos?access_token=REDACTED"},
      {"/api/v1/videos?t=" + user_token, "/api/v1/videos?t=REDACTED"},
      {"/files/" + user_token + "/x", "/files/REDACTED/x"},
  };
  for (const auto& [target, shown] : sent) http.get(target);

  const auto log = s.dir() / "api0.log";
  std::string text;
  const bool logged = wait_until(
      [&] {
        text = file_text(log);
        for (const auto& [target, shown] : sent)
          if (text.find(shown) == std::string::npos) return false;
        return true;
      },
      10s);
  INFO("api log:\n" << text);
  CHECK(logged);
  CHECK(text.find("SECRET") == std::string::npos);
  CHECK(text.find(std::string(43, 'S')) == std::string::npos);
}
