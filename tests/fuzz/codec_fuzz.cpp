// libFuzzer harness: every decoder that reads bytes from a client (REST bodies, WebSocket
// messages) or from disk (catalog, stored verdicts) must refuse bad input with an error, never
// crash, hang or read out of bounds. Whatever it accepts must encode again without failing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/codec.hpp"

using namespace streamgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  (void)decode_start_body(input);
  (void)decode_create_user_body(input);
  (void)decode_patch_user_body(input, "fuzz-user");
  (void)decode_ws_client_message(input);
  (void)decode_catalog(input);
  if (auto record = decode_verdict_record(input)) {
    (void)encode_verdict_record(*record);
    (void)encode_verdict_event(*record, 1);
    (void)encode_verdict_body(*record);
  }
  return 0;
}
