#pragma once

// Lookups in a user's lists through their fingerprints (user_state.hpp, list_aids), and the
// changes of a list that keep its fingerprints in line with it. A list's fingerprints are either
// in line with it or of another length, which makes the next lookup take them all again: every
// change below checks that first, and drops fingerprints that were not in line.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streamgate::core::aids {

inline std::uint64_t fingerprint(std::string_view id) { return std::hash<std::string_view>{}(id); }

// The index of the entry of `list` whose `id` member is `wanted`, whose fingerprint is `print`
// (taken once by the caller, which appends with it when nothing is found), or list.size().
template <class T>
std::size_t find(const std::vector<T>& list, std::string T::*id, std::vector<std::uint64_t>& prints,
                 const std::string& wanted, std::uint64_t print) {
  if (prints.size() != list.size()) {
    prints.clear();
    prints.reserve(list.size());
    for (const T& entry : list) prints.push_back(fingerprint(entry.*id));
  }
  for (std::size_t i = 0; i < prints.size(); ++i)
    if (prints[i] == print && list[i].*id == wanted) return i;
  return list.size();
}

// Appends an entry whose id has fingerprint `print`; the caller fills it in.
template <class T>
T& append(std::vector<T>& list, std::vector<std::uint64_t>& prints, std::uint64_t print) {
  if (prints.size() == list.size())
    prints.push_back(print);
  else
    prints.clear();
  return list.emplace_back();
}

// Removes the entries `gone` picks, keeping the others in order.
template <class T, class Gone>
void remove_if(std::vector<T>& list, std::vector<std::uint64_t>& prints, Gone gone) {
  if (prints.size() != list.size()) {
    prints.clear();
    std::erase_if(list, gone);
    return;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (gone(list[i])) continue;
    if (kept != i) {
      list[kept] = std::move(list[i]);
      prints[kept] = prints[i];
    }
    ++kept;
  }
  list.erase(list.begin() + static_cast<std::ptrdiff_t>(kept), list.end());
  prints.resize(kept);
}

// Removes the entries [first, first + count).
template <class T>
void remove(std::vector<T>& list, std::vector<std::uint64_t>& prints, std::size_t first,
            std::size_t count) {
  const auto from = static_cast<std::ptrdiff_t>(first);
  const auto to = static_cast<std::ptrdiff_t>(first + count);
  if (prints.size() == list.size())
    prints.erase(prints.begin() + from, prints.begin() + to);
  else
    prints.clear();
  list.erase(list.begin() + from, list.begin() + to);
}

}  // namespace streamgate::core::aids
