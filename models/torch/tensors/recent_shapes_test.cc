#include "models/torch/tensors/recent_shapes.h"

#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(RecentShapesTest, AKeyIsSeenWhileItIsInTheWindow) {
  RecentShapes recent(3);
  EXPECT_FALSE(recent.Note(7));
  EXPECT_TRUE(recent.Note(7));  // the window: 7 7
  EXPECT_FALSE(recent.Note(8));
  EXPECT_FALSE(recent.Note(9));  // 7 8 9: the first 7 left
  EXPECT_TRUE(recent.Note(7));   // 8 9 7
  EXPECT_TRUE(recent.Note(8));   // 9 7 8
  EXPECT_FALSE(recent.Note(1));  // 7 8 1
  EXPECT_FALSE(recent.Note(2));  // 8 1 2
  EXPECT_FALSE(recent.Note(9));  // 1 2 9: 9 had left
  EXPECT_FALSE(recent.Note(7));  // 2 9 7: 7 had left
}

TEST(RecentShapesTest, ADistinctKeyEveryTimeIsNeverSeen) {
  RecentShapes recent(16);
  for (uint64_t key = 0; key < 1000; ++key) ASSERT_FALSE(recent.Note(key)) << key;
}

TEST(RecentShapesTest, ACycleLongerThanTheWindowIsNeverSeen) {
  RecentShapes recent(4);
  for (int pass = 0; pass < 3; ++pass) {
    for (uint64_t key = 0; key < 5; ++key) ASSERT_FALSE(recent.Note(key)) << pass << " " << key;
  }
  RecentShapes wide(5);
  for (uint64_t key = 0; key < 5; ++key) wide.Note(key);
  for (uint64_t key = 0; key < 5; ++key) EXPECT_TRUE(wide.Note(key)) << key;
}

}  // namespace
}  // namespace speech
