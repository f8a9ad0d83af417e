#pragma once

// The Redis Cluster a test program keeps between its stacks (stack.cpp): a new cluster's nodes
// call themselves ok only 2 s after they start (tests/support/redis_cluster.cpp), and each
// section of a test case builds a stack.

#include <filesystem>
#include <memory>

#include "redis_cluster.hpp"

namespace streamgate::it {

// The kept cluster, emptied, or else a new one in a temp dir of its own.
std::unique_ptr<redis_cluster> take_cluster();

// A cluster whose every node is as started is kept for the next stack. A disturbed one (a node
// killed) is not: its files join the stack's dir `stack_dir`, kept for a look when the test case
// fails and removed with it when it passes.
void return_cluster(std::unique_ptr<redis_cluster> cluster, const std::filesystem::path& stack_dir);

}  // namespace streamgate::it
