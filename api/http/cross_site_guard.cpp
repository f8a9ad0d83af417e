#include "api/http/cross_site_guard.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <utility>

namespace streamgate {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Origins compare as the browser serialises them (RFC 6454 §6.2): lower case, and without the
// scheme's default port, which a Host header may still carry.
std::string normalised_origin(std::string_view origin) {
  std::string out = lower(origin);
  const auto drop_suffix = [&out](std::string_view scheme, std::string_view default_port) {
    if (out.starts_with(scheme) && out.ends_with(default_port))
      out.resize(out.size() - default_port.size());
  };
  drop_suffix("http://", ":80");
  drop_suffix("https://", ":443");
  return out;
}

bool changes_state(http::verb method) {
  return method == http::verb::post || method == http::verb::patch ||
         method == http::verb::put || method == http::verb::delete_;
}

bool carries_body(const http_request& request) {
  const http::verb method = request.method();
  return !request.body().empty() && (method == http::verb::post ||
                                     method == http::verb::patch || method == http::verb::put);
}

// "application/json", "Application/JSON; charset=utf-8"; not "application/json-seq".
bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!type.empty() && blank(type.front())) type.remove_prefix(1);
  while (!type.empty() && blank(type.back())) type.remove_suffix(1);
  return boost::beast::iequals(type, "application/json");
}

std::optional<error> body_type_refusal(const http_request& request) {
  if (!carries_body(request)) return std::nullopt;
  const std::string_view type = request[http::field::content_type];
  if (is_json_media_type(type)) return std::nullopt;
  return error{error_code::unsupported_media_type,
               type.empty() ? "a request body needs Content-Type: application/json"
                            : "a request body must be application/json, not '" +
                                  std::string(type) + "'"};
}

}  // namespace

bool is_loopback_host(std::string_view host_header) {
  std::string_view host = host_header;
  std::string_view port;
  if (host.starts_with('[')) {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
  } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (!port.empty() && (port.front() != ':' || port.size() == 1 ||
                        !std::all_of(port.begin() + 1, port.end(),
                                     [](unsigned char c) { return std::isdigit(c) != 0; })))
    return false;
  if (boost::beast::iequals(host, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

cross_site_guard::cross_site_guard(bool loopback_only,
                                   const std::vector<std::string>& allowed_origins)
    : loopback_only_(loopback_only) {
  for (const std::string& origin : allowed_origins)
    allowed_origins_.push_back(normalised_origin(origin));
}

std::optional<error> cross_site_guard::refusal(const http_request& request) const {
  if (auto refused = host_refusal(request)) return refused;
  if (auto refused = origin_refusal(request)) return refused;
  return body_type_refusal(request);
}

// A DNS name rebound to 127.0.0.1 reaches a loopback api with its own name as the Host: the
// page's origin then looks like the api's own. Only a loopback name proves the browser meant us.
// (An HTTP/1.0 request may have no Host; it is not a browser's.)
std::optional<error> cross_site_guard::host_refusal(const http_request& request) const {
  if (!loopback_only_ || request.count(http::field::host) == 0) return std::nullopt;
  const std::string_view host = request[http::field::host];
  if (is_loopback_host(host)) return std::nullopt;
  return error{error_code::misdirected_request,
               "Host '" + std::string(host) +
                   "' is not served: this api listens on a loopback address and answers only "
                   "for 127.0.0.1, localhost or [::1]"};
}

std::optional<error> cross_site_guard::origin_refusal(const http_request& request) const {
  if (request.count(http::field::origin) == 0) return std::nullopt;
  if (!changes_state(request.method()) && !boost::beast::websocket::is_upgrade(request))
    return std::nullopt;
  const std::string_view origin = request[http::field::origin];
  const std::string normalised = normalised_origin(origin);
  if (normalised == normalised_origin("http://" + std::string(request[http::field::host])))
    return std::nullopt;
  if (std::find(allowed_origins_.begin(), allowed_origins_.end(), normalised) !=
      allowed_origins_.end())
    return std::nullopt;
  return error{error_code::forbidden,
               "Origin '" + std::string(origin) +
                   "' may not use this api: only its own origin and --allowed-origin may"};
}

}  // namespace streamgate
