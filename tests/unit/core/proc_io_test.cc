// io_counter reads this process's and this thread's /proc io counters.
#include "gateway/core/proc_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace gw {
namespace {

TEST(ProcIoTest, CountsThisThreadsWritesAndSaysZeroForAnUnknownField) {
  const uint64_t before = io_counter(IoScope::kThread, "syscw");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::write(STDOUT_FILENO, "", 0), 0);
  EXPECT_GE(io_counter(IoScope::kThread, "syscw"), before + 3);
  EXPECT_GE(io_counter(IoScope::kProcess, "syscw"), io_counter(IoScope::kThread, "syscw"));
  // A prefix of a field is not that field.
  EXPECT_EQ(io_counter(IoScope::kThread, "sysc"), 0u);
  EXPECT_EQ(io_counter(IoScope::kThread, "no_such_field"), 0u);
}

}  // namespace
}  // namespace gw
