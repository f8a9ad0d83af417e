// The web UI's files are served from inside the web root only (api/routes/static_files,
// docs/design.md §6).

#include "api/routes/static_files.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace streamgate {
namespace {

TEST_CASE("static files stay inside the web root", "[api][static]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "streamgate_static_test";
  fs::create_directories(root / "js");
  std::ofstream(root / "index.html") << "<html></html>";
  std::ofstream(root / "js" / "app.js") << "1";
  std::ofstream(root.parent_path() / "streamgate_static_secret.txt") << "secret";
  // A link inside the root to a file outside it (left over if a run died before its cleanup).
  fs::remove(root / "js" / "leak.txt");
  fs::create_symlink(root.parent_path() / "streamgate_static_secret.txt", root / "js" / "leak.txt");

  CHECK(resolve_static_path(root, "/") == fs::canonical(root / "index.html"));
  CHECK(resolve_static_path(root, "/js/app.js") == fs::canonical(root / "js" / "app.js"));
  CHECK(resolve_static_path(root, "/js/%61pp.js") == fs::canonical(root / "js" / "app.js"));
  CHECK_FALSE(resolve_static_path(root, "/../streamgate_static_secret.txt"));
  CHECK_FALSE(resolve_static_path(root, "/%2e%2e/streamgate_static_secret.txt"));
  // Each rule on its own: any "..", even one that stays inside the root; a link out of the root,
  // which has no ".." in its path; NUL and backslashes.
  CHECK_FALSE(resolve_static_path(root, "/js/../index.html"));
  CHECK_FALSE(resolve_static_path(root, "/js/leak.txt"));
  CHECK_FALSE(resolve_static_path(root, "/index.html%00.js"));
  CHECK_FALSE(resolve_static_path(root, "/js%5capp.js"));
  CHECK_FALSE(resolve_static_path(root, "/js"));  // a directory
  CHECK_FALSE(resolve_static_path(root, "/missing.css"));
  CHECK(content_type_of("a.js") == "text/javascript; charset=utf-8");
  CHECK(content_type_of("a.bin") == "application/octet-stream");
  fs::remove_all(root);
  fs::remove(root.parent_path() / "streamgate_static_secret.txt");
}

}  // namespace
}  // namespace streamgate
