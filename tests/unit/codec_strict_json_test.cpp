// The strict JSON reader and writer under every codec and the api's views
// (common/codec/strict_json.cpp): client text quoted short and sanitized in messages, and the
// per-thread buffer after a large body.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "api/views/views.hpp"
#include "codec_test_support.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

TEST_CASE("an unknown field name is quoted short and printable", "[codec]") {
  const std::string input =
      R"({"op":"ping","corr":1,")" + std::string(500, 'k') + "\\n" + R"(":1})";
  const auto decoded = decode_request(input);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().message.size() < 100);
  CHECK(decoded.error().message.find('\n') == std::string::npos);
}

TEST_CASE("an error message with invalid UTF-8 still renders valid JSON", "[codec]") {
  const std::string body = render_error(error_code::bad_request, "bad value '\xff\xfe' here \"q\"");
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  REQUIRE_FALSE(document.HasParseError());
  CHECK(std::string(document["error"]["message"].GetString()) ==
        "bad value '?"
        "?' here \"q\"");
}

TEST_CASE("a large body is rendered whole and the next one is not affected", "[codec]") {
  std::vector<stream> streams;
  for (int i = 0; i < 2000; ++i) streams.push_back(sample_stream("s_" + std::to_string(i), t0));
  const rapidjson::Document big = parse(render_body(streams));
  CHECK(big.Size() == 2000);
  CHECK(render_pending("r_2") == R"({"requestId":"r_2","status":"pending"})");
}

}  // namespace streamgate::codec_test
