// pin_this_thread pins only the calling thread, to the CPUs asked for.
#include "gateway/core/cpu_affinity.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace gw {
namespace {

TEST(CpuAffinityTest, PinsOnlyTheCallingThread) {
  const std::vector<int> usable = usable_cpus();
  ASSERT_FALSE(usable.empty());
  const int target = usable.back();
  std::vector<int> seen_in_thread;
  std::thread t([&] {
    ASSERT_TRUE(pin_this_thread({target}).is_ok());
    seen_in_thread = usable_cpus();  // sched_getaffinity(0) reads the calling thread's mask
    EXPECT_EQ(sched_getcpu(), target);
  });
  t.join();
  EXPECT_EQ(seen_in_thread, std::vector<int>{target});
  EXPECT_EQ(usable_cpus(), usable) << "the other threads keep their CPUs";
}

TEST(CpuAffinityTest, EmptyLeavesTheThreadAndBadCpusAreErrors) {
  const std::vector<int> before = usable_cpus();
  std::thread t([&] {
    EXPECT_TRUE(pin_this_thread({}).is_ok());
    EXPECT_EQ(usable_cpus(), before);
    EXPECT_FALSE(pin_this_thread({-1}).is_ok());
    EXPECT_FALSE(pin_this_thread({CPU_SETSIZE}).is_ok());
    EXPECT_EQ(usable_cpus(), before) << "a refused pin changes nothing";
  });
  t.join();
}

TEST(CpuAffinityTest, ListsCpusAsLinuxDoes) {
  EXPECT_EQ(cpu_list({}), "");
  EXPECT_EQ(cpu_list({0}), "0");
  EXPECT_EQ(cpu_list({3, 0, 1, 2, 5, 7, 8}), "0-3,5,7-8");
  EXPECT_EQ(cpu_list({1, 1, 2}), "1-2");
}

}  // namespace
}  // namespace gw
