#pragma once

// Names a thread, so that top -H, perf and gdb tell a process's threads apart (Linux keeps at
// most 15 characters).

#include <pthread.h>

#include <thread>

namespace streamgate {

inline void name_thread(std::thread& thread, const char* name) {
  pthread_setname_np(thread.native_handle(), name);
}

}  // namespace streamgate
