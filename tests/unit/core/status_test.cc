#include "gateway/core/status.h"

#include <gtest/gtest.h>

namespace gw {
namespace {

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = unavailable("cloud down");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.to_string(), "unavailable: cloud down");
  EXPECT_EQ(s.with_context("uplink aws").message(), "uplink aws: cloud down");
}

TEST(Result, HoldsValueOrError) {
  Result<int> r = 7;
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, 7);
  Result<int> e = not_found("x");
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gw
