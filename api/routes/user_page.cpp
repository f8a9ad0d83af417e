#include "api/routes/user_page.hpp"

#include <rapidjson/reader.h>

#include <boost/url/url.hpp>
#include <vector>

namespace streamgate {

namespace {

// Reads the objects of a top-level array (the caller checks that it is one): where each ends
// and its "id". Any other element fails the parse.
class user_bounds final : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, user_bounds> {
 public:
  explicit user_bounds(const rapidjson::StringStream& stream) : stream_(stream) {}

  bool StartArray() { return open(); }
  bool EndArray(rapidjson::SizeType) { return close(); }
  bool StartObject() { return open(); }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ == 2) {
      ends.push_back(stream_.Tell());
      ids.push_back(std::move(id_));
      id_.clear();
    }
    return close();
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    id_next_ = depth_ == 2 && std::string_view(text, length) == "id";
    return true;
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (id_next_) id_.assign(text, length);
    id_next_ = false;
    return depth_ > 1;
  }
  // Any other value: a user's field (objects only at the top level).
  bool Default() {
    id_next_ = false;
    return depth_ > 1;
  }

  std::vector<std::size_t> ends;  // offsets just past each user's '}'
  std::vector<std::string> ids;

 private:
  bool open() {
    id_next_ = false;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  const rapidjson::StringStream& stream_;
  int depth_ = 0;
  bool id_next_ = false;
  std::string id_;
};

}  // namespace

std::optional<user_page> cut_user_page(std::string_view users, std::size_t limit) {
  // StringStream reads up to a NUL: the worker's JSON has none (control characters are escaped).
  const std::string text(users);
  rapidjson::StringStream stream(text.c_str());
  user_bounds bounds(stream);
  rapidjson::Reader reader;
  if (!reader.Parse(stream, bounds) || text.empty() || text.front() != '[') return std::nullopt;
  if (bounds.ids.size() <= limit) return user_page{text, std::nullopt};
  if (limit == 0 || bounds.ids[limit - 1].empty()) return std::nullopt;
  return user_page{text.substr(0, bounds.ends[limit - 1]) + "]", bounds.ids[limit - 1]};
}

std::string next_page_target(std::string_view name, int limit, std::string_view cursor) {
  boost::urls::url target("/api/v1/users");
  if (!name.empty()) target.params().append({"name", name});
  target.params().append({"limit", std::to_string(limit)});
  target.params().append({"cursor", cursor});
  return std::string(target.buffer());
}

}  // namespace streamgate
