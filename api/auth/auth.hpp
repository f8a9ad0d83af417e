#pragma once

// Bearer tokens (--auth token, docs/design.md §6). The router asks admit() before a handler runs,
// http_session asks authorize_websocket() before an upgrade. A request's token is the admin's
// (compared with the configured one), or a user's (api/auth/tokens: "<userId>.<secret>"), confirmed by
// a worker against the stored SHA-256 and then remembered for a minute (api/auth/token_cache), until
// the worker says the user's access was revoked (a new token, a deleted user). A refused token is
// remembered for two seconds, so a flood of one bogus token costs no worker round trip each.
// Refusals: no or invalid token 401 (with WWW-Authenticate: Bearer), a valid token that may not
// do this 403. Tokens are never logged; log targets through redacted_target().

#include <boost/url/url_view.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/http/http_types.hpp"
#include "api/http/router.hpp"
#include "api/auth/token_cache.hpp"
#include "common/error.hpp"

namespace streamgate {

struct api_services;

struct principal {
  bool admin = false;
  std::string user_id;  // when not admin
};

class authenticator final {
 public:
  static constexpr std::size_t default_cache_capacity = 100'000;
  static constexpr std::chrono::seconds default_cache_ttl{60};
  static constexpr std::chrono::seconds refusal_ttl{2};

  // Keeps only the SHA-256 of `admin_token`; `confirmed` is shared with the worker link, which
  // forgets a user's confirmations when it hears of a revocation.
  authenticator(std::string_view admin_token, token_cache& confirmed);

  // Whose token the request carries: the Authorization header's bearer token, or else (when
  // `allow_query`, for WebSockets, whose browser API cannot set headers) ?token=. Fails with
  // unauthorized (no token, not ours, not confirmed) or unavailable (no worker answered).
  asio::awaitable<result<principal>> identify(const http_request& request,
                                              boost::urls::url_view target, bool allow_query,
                                              const api_services& services);

  // Whether `who` may use a route of kind `a` whose {id} is `path_user`: nullopt, or forbidden.
  static std::optional<error> refusal(const principal& who, access a, std::string_view path_user);

 private:
  const std::string admin_hash_;
  token_cache& confirmed_;
  token_cache refused_;
};

// The router's gate: with auth off or an open route, nullopt and `caller` empty. Otherwise
// nullopt with `caller` set to the user (empty for the admin), or the answer that refuses.
asio::awaitable<std::optional<http_response>> admit(const http_request& request,
                                                    boost::urls::url_view target, access a,
                                                    std::string_view path_user,
                                                    const api_services& services,
                                                    std::string& caller);

// GET /ws?user={id} with an upgrade: the user the WebSocket is for once the request may open
// it (websocket_user's checks, then with auth on the user's token or the admin's), or the error
// to answer instead of upgrading.
asio::awaitable<result<std::string>> authorize_websocket(const http_request& request,
                                                         const api_services& services);

// The request-target for logs: the value of every query parameter whose name holds "token"
// (token, access_token, token[]; split at '&' and ';') and anything shaped like a user's token
// replaced by REDACTED (docs/design.md §6: tokens are never logged).
std::string redacted_target(std::string_view target);

}  // namespace streamgate
