#include "api/http/request_head.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <string>
#include <string_view>

namespace streamgate {

namespace {

namespace http = boost::beast::http;

// Without the spaces and tabs around it (RFC 9110 §5.6.1's OWS).
std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Beast reads a request whose Transfer-Encoding ends in another coding than chunked as having no
// body, so the body would be read as the next request (request smuggling, RFC 9112 §6.3). The
// api decodes no coding but chunked, so chunked alone is the only one accepted, as that exact
// word: a proxy in front may read "chunked;x=1" or "chunked, " otherwise than Beast does. With a
// Content-Length as well the framing is ambiguous (RFC 9112 §6.1), and HTTP/1.0 has no
// Transfer-Encoding at all.
std::optional<error> framing_error(const request_head& head) {
  const auto [first, last] = head.equal_range(http::field::transfer_encoding);
  if (first == last) return std::nullopt;
  std::string value;
  int codings = 0;
  bool only_chunked = true;
  for (auto field = first; field != last; ++field) {
    if (!value.empty()) value += ", ";
    value += field->value();
    // Every element counts, an empty one too. (Not std::views::split: the fuzz build's clang
    // cannot compile libstdc++ 12's ranges.)
    std::string_view rest = field->value();
    for (bool more = true; more;) {
      const std::size_t comma = rest.find(',');
      more = comma != std::string_view::npos;
      ++codings;
      only_chunked =
          only_chunked && boost::beast::iequals(trimmed(rest.substr(0, comma)), "chunked");
      if (more) rest.remove_prefix(comma + 1);
    }
  }
  if (head.version() < 11) return bad_request("Transfer-Encoding in an HTTP/1.0 request");
  if (head.count(http::field::content_length) > 0)
    return bad_request("Transfer-Encoding and Content-Length in one request");
  if (codings != 1 || !only_chunked)
    return bad_request("Transfer-Encoding '" + value + "' is not accepted: only 'chunked' is");
  return std::nullopt;
}

// RFC 9112 §3.2: every HTTP/1.1 request has exactly one Host, a host and an optional port.
std::optional<error> host_error(const request_head& head) {
  const std::size_t hosts = head.count(http::field::host);
  if (hosts == 0) {
    if (head.version() >= 11) return bad_request("an HTTP/1.1 request needs a Host header");
    return std::nullopt;
  }
  if (hosts > 1) return bad_request("more than one Host header");
  const std::string_view host = head[http::field::host];
  const auto authority = boost::urls::parse_authority(host);
  if (!authority || authority->has_userinfo() || authority->encoded_host().empty())
    return bad_request("Host '" + std::string(host) + "' is not HOST[:PORT]");
  return std::nullopt;
}

// RFC 9112 §3.2.2: a server accepts the absolute form, and its authority replaces the Host.
std::optional<error> to_origin_form(request_head& head) {
  const std::string_view target = head.target();
  // Origin form, or something the router refuses as a malformed target.
  if (target.empty() || target.front() == '/') return std::nullopt;
  const auto uri = boost::urls::parse_absolute_uri(target);
  if (!uri) return std::nullopt;
  if (uri->scheme_id() != boost::urls::scheme::http || !uri->has_authority() ||
      uri->has_userinfo() || uri->encoded_host().empty())
    return bad_request("request target '" + std::string(target) +
                       "': the absolute form must be http://HOST[:PORT]/PATH");
  std::string origin_form = uri->encoded_path().empty() ? "/" : std::string(uri->encoded_path());
  if (uri->has_query()) origin_form.append("?").append(uri->encoded_query());
  const std::string host(uri->encoded_host_and_port());
  head.set(http::field::host, host);
  head.target(origin_form);
  return std::nullopt;
}

}  // namespace

std::optional<error> check_request_head(request_head& head) {
  if (auto refused = framing_error(head)) return refused;
  if (auto refused = host_error(head)) return refused;
  return to_origin_form(head);
}

}  // namespace streamgate
