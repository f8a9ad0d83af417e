#include "api/auth/auth.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <string>
#include <utility>

#include "api/http/responses.hpp"
#include "api/services.hpp"
#include "api/auth/tokens.hpp"
#include "api/worker_link/worker_client.hpp"
#include "common/messages.hpp"

namespace streamgate {

namespace {

constexpr std::string_view token_parameter = "token";
constexpr std::string_view redacted = "REDACTED";

error unauthorized(std::string message) { return {error_code::unauthorized, std::move(message)}; }

// The bearer token of the request; empty when none. A malformed Authorization header counts as
// none, so the client is told how to send one.
std::string_view header_token(const http_request& request) {
  const std::string_view header = request[http::field::authorization];
  constexpr std::string_view scheme = "Bearer";
  if (header.size() <= scheme.size() || !beast::iequals(header.substr(0, scheme.size()), scheme) ||
      header[scheme.size()] != ' ')
    return {};
  std::string_view token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace

authenticator::authenticator(std::string_view admin_token, token_cache& confirmed)
    : admin_hash_(sha256_hex(admin_token)),
      confirmed_(confirmed),
      refused_(default_cache_capacity, refusal_ttl) {}

asio::awaitable<result<principal>> authenticator::identify(const http_request& request,
                                                           boost::urls::url_view target,
                                                           bool allow_query,
                                                           const api_services& services) {
  std::string token(header_token(request));
  if (token.empty() && allow_query) {
    const auto params = target.params();
    const auto found = params.find(token_parameter);
    if (found != params.end()) token = (*found).value;
  }
  if (token.empty())
    co_return unauthorized("a bearer token is required: Authorization: Bearer <token>");

  // One hash per request: compared with the admin's, then the key of the cache and what the
  // worker checks. Comparing digests of equal length keeps the admin check constant-time.
  const std::string hash = sha256_hex(token);
  if (same_secret(hash, admin_hash_)) co_return principal{true, {}};
  const std::optional<std::string_view> user = token_user(token);
  if (!user) co_return unauthorized("the bearer token is not valid");
  const auto now = token_cache::clock::now();
  if (confirmed_.confirmed(*user, hash, now)) co_return principal{false, std::string(*user)};
  if (refused_.confirmed(*user, hash, now)) co_return unauthorized("the bearer token is not valid");

  request_body body = authenticate_request{std::string(*user), hash};
  const auto reply = co_await services.worker.call(std::move(body), services.verdict_timeout);
  if (!reply) co_return error{error_code::unavailable, "no worker answered in time; retry"};
  if (reply->result == outcome::ok) {
    confirmed_.confirm(*user, hash, now);
    co_return principal{false, std::string(*user)};
  }
  if (reply->result == outcome::forbidden || reply->result == outcome::not_found) {
    refused_.confirm(*user, hash, now);
    co_return unauthorized("the bearer token is not valid");
  }
  co_return error{error_code::unavailable, "the token could not be checked; retry"};
}

std::optional<error> authenticator::refusal(const principal& who, access a,
                                            std::string_view path_user) {
  if (who.admin || a == access::open || a == access::caller) return std::nullopt;
  if (a == access::owner && who.user_id == path_user) return std::nullopt;
  if (a == access::admin) return error{error_code::forbidden, "this needs the admin token"};
  return error{error_code::forbidden, "a user's token acts only on that user's own resources"};
}

asio::awaitable<std::optional<http_response>> admit(const http_request& request,
                                                    boost::urls::url_view target, access a,
                                                    std::string_view path_user,
                                                    const api_services& services,
                                                    std::string& caller) {
  caller.clear();
  if (services.auth == nullptr || a == access::open) co_return std::nullopt;
  const result<principal> who = co_await services.auth->identify(request, target, false, services);
  if (!who) co_return error_response(who.error());
  if (const auto refused = authenticator::refusal(*who, a, path_user))
    co_return error_response(*refused);
  caller = who->user_id;
  co_return std::nullopt;
}

asio::awaitable<result<std::string>> authorize_websocket(const http_request& request,
                                                         const api_services& services) {
  result<std::string> user = websocket_user(request);
  if (!user || services.auth == nullptr) co_return user;
  // websocket_user parsed it already.
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target) co_return bad_request("malformed request target");
  const result<principal> who = co_await services.auth->identify(request, *target, true, services);
  if (!who) co_return who.error();
  if (const auto refused = authenticator::refusal(*who, access::owner, *user)) co_return *refused;
  co_return user;
}

namespace {

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A user's token is "<id>.<43 base64url characters>" (api/auth/tokens): a run shaped like one is hidden
// wherever it is, in the path or under any parameter name. 32 characters after the dot are enough
// to call it one; a file name's extension is never that long.
std::string redact_token_shapes(std::string_view text) {
  constexpr std::size_t min_secret = 32;
  std::string out;
  std::size_t copied = 0;
  for (std::size_t dot = text.find('.'); dot != std::string_view::npos;
       dot = text.find('.', dot + 1)) {
    std::size_t start = dot;
    while (start > copied && is_base64url(text[start - 1])) --start;
    std::size_t end = dot + 1;
    while (end < text.size() && is_base64url(text[end])) ++end;
    if (start == dot || end - dot - 1 < min_secret) continue;
    out.append(text.substr(copied, start - copied)).append(redacted);
    copied = end;
    dot = end - 1;
  }
  out.append(text.substr(copied));
  return out;
}

// A client may send its token in forms the api does not read (access_token=, token[]=, a
// percent-encoded name): any name that holds "token" in any case, as sent or decoded, is hidden.
bool names_a_token(std::string_view name) {
  const auto holds_token = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text.find(token_parameter) != std::string::npos;
  };
  if (holds_token(std::string(name))) return true;
  const auto encoded = boost::urls::make_pct_string_view(name);
  return encoded && holds_token((*encoded).decode());
}

}  // namespace

std::string redacted_target(std::string_view target) {
  const std::size_t query = target.find('?');
  std::string out = redact_token_shapes(target.substr(0, query));
  if (query == std::string_view::npos) return out;
  out += '?';
  std::string_view rest = target.substr(query + 1);
  // Split at ';' too: some servers take it as a separator, so a client may have meant one.
  for (;;) {
    const std::size_t end = rest.find_first_of("&;");
    const std::string_view param = rest.substr(0, end);
    const std::string_view name = param.substr(0, param.find('='));
    if (names_a_token(name))
      out.append(name).append("=").append(redacted);
    else
      out.append(redact_token_shapes(param));
    if (end == std::string_view::npos) return out;
    out += rest[end];
    rest.remove_prefix(end + 1);
  }
}

}  // namespace streamgate
