// The demo catalog (data/catalog.json) loaded into an empty store.

#include "common/codec.hpp"
#include "common/codec/strict_json.hpp"

#include <unordered_set>

namespace streamgate {

using namespace codec_detail;


namespace {

constexpr int max_duration_seconds = 86400;

// Items of one catalog array; ids are unique within it (they become primary keys).
template <class Item, class Read>
std::vector<Item> read_catalog_items(field_reader& parent, field list, field_set allowed,
                                     field_set required, Read read) {
  std::vector<Item> items;
  const json_value* array = parent.array(list);
  if (array == nullptr) return items;
  const std::string_view name = field_names[index_of(list)];
  items.reserve(array->Size());
  std::unordered_set<std::string> ids;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    const json_value& element = (*array)[i];
    if (!element.IsObject()) {
      parent.fail("field " + quote(std::string(name) + "[" + std::to_string(i) + "]") +
                  " must be an object");
      break;
    }
    field_reader f(element, allowed, required, name, i);
    Item item = read(f);
    if (f.failed()) {
      parent.fail(f.take_error().message);
      break;
    }
    if (!ids.insert(item.id).second) {
      parent.fail("duplicate id " + quote(item.id) + " in field " + quote(name));
      break;
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

namespace {

plan read_catalog_plan(field_reader& f) {
  plan p;
  p.id = f.id(field::id);
  p.max_streams = f.integer(field::max_streams, 1, max_streams_ceiling);
  p.limit_policy = f.optional_policy(field::policy).value_or(policy::deny);
  return p;
}

user read_catalog_user(field_reader& f) {
  user u;
  u.id = f.id(field::id);
  u.name = f.text(field::name, false);
  u.max_streams = f.optional_max_streams(field::max_streams);
  u.policy_override = f.optional_policy(field::policy);
  u.plan = f.optional_id(field::plan);
  return u;
}

video read_catalog_video(field_reader& f) {
  video v;
  v.id = f.id(field::id);
  v.title = f.text(field::title, false);
  v.duration_seconds = f.integer(field::duration_seconds, 1, max_duration_seconds);
  return v;
}

// The catalog is loaded whole into an empty store, so a user's plan must be one it defines.
void check_plans_exist(field_reader& f, const catalog& c) {
  std::unordered_set<std::string_view> plan_ids;
  for (const plan& p : c.plans) plan_ids.insert(p.id);
  for (std::size_t i = 0; i < c.users.size(); ++i) {
    const std::optional<std::string>& plan_id = c.users[i].plan;
    if (plan_id && !plan_ids.contains(*plan_id)) {
      f.fail("field " + quote("users[" + std::to_string(i) + "].plan") + " names " +
             quote(*plan_id) + ", which is not in field 'plans'");
      return;
    }
  }
}

catalog read_catalog(field_reader& f) {
  catalog c;
  c.plans = read_catalog_items<plan>(f, field::plans,
                                     fields(field::id, field::max_streams, field::policy),
                                     fields(field::id, field::max_streams), read_catalog_plan);
  c.users = read_catalog_items<user>(
      f, field::users,
      fields(field::id, field::name, field::max_streams, field::policy, field::plan),
      fields(field::id, field::name), read_catalog_user);
  const field_set video_fields = fields(field::id, field::title, field::duration_seconds);
  c.videos =
      read_catalog_items<video>(f, field::videos, video_fields, video_fields, read_catalog_video);
  if (!f.failed()) check_plans_exist(f, c);
  return c;
}

}  // namespace

result<catalog> decode_catalog(std::string_view json) {
  const field_set lists = fields(field::users, field::videos);
  return decode_object<catalog>(json, lists | fields(field::plans), lists, read_catalog);
}

}  // namespace streamgate
