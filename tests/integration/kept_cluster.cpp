#include "kept_cluster.hpp"

#include <exception>
#include <system_error>
#include <utility>

#include "stack.hpp"

namespace streamgate::it {

namespace {

// The kept cluster lives in a temp dir of its own, removed when the program exits: a stack's dir
// goes when its test case passes (diagnostics.hpp), and a later test case may restart a node from
// its files.
struct kept_cluster_slot {
  std::unique_ptr<redis_cluster> cluster;
  ~kept_cluster_slot() {
    if (!cluster) return;
    const std::filesystem::path dir = cluster->dir();
    cluster.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

std::unique_ptr<redis_cluster>& kept_cluster() {
  static kept_cluster_slot kept;
  return kept.cluster;
}

}  // namespace

std::unique_ptr<redis_cluster> take_cluster() {
  if (std::unique_ptr<redis_cluster> kept = std::move(kept_cluster())) {
    kept->empty();
    return kept;
  }
  const std::filesystem::path dir = make_temp_dir();
  try {
    return std::make_unique<redis_cluster>(dir);
  } catch (const std::exception&) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    throw;
  }
}

void return_cluster(std::unique_ptr<redis_cluster> cluster,
                    const std::filesystem::path& stack_dir) {
  if (!cluster->disturbed()) {
    kept_cluster() = std::move(cluster);
    return;
  }
  const std::filesystem::path files = cluster->dir();
  cluster.reset();
  std::error_code ignored;
  std::filesystem::rename(files, stack_dir / "cluster", ignored);
}

}  // namespace streamgate::it
