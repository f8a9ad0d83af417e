// libFuzzer harness: the worker's wire codec (common/wire/worker_codec.hpp), which every api reads
// from its workers. Any bytes must be refused or decoded without a crash, a hang or an allocation
// beyond the input's size. What decodes must encode to a frame that decodes to the same value;
// and since every value has one encoding (minimal varints, only 0 and 1 for bools and presence),
// that frame must be the input itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/wire/worker_codec.hpp"

using namespace streamgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (const auto reply = decode_reply_body(input)) {
    const std::string again = encode_reply_body(*reply);
    if (decode_reply_body(again) != reply || again != input) __builtin_trap();
  }
  if (const auto event = decode_event_body(input)) {
    const std::string again = encode_event_body(*event);
    if (decode_event_body(again) != event || again != input) __builtin_trap();
  }
  return 0;
}
