#include "client/accuracy/progress_log.h"

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(CompletesStepTest, OneLinePerTenthAndAtTheEnd) {
  std::vector<int64_t> lines;
  for (int64_t done = 1; done <= 100; ++done) {
    if (CompletesStep(done, 100, 10)) lines.push_back(done);
  }
  EXPECT_EQ(lines, (std::vector<int64_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
}

TEST(CompletesStepTest, FewItemsGetALineEach) {
  for (int64_t done = 1; done <= 3; ++done) EXPECT_TRUE(CompletesStep(done, 3, 10)) << done;
}

TEST(CompletesStepTest, UnevenTotalsStillGiveTenLines) {
  int lines = 0;
  for (int64_t done = 1; done <= 37; ++done) lines += CompletesStep(done, 37, 10) ? 1 : 0;
  EXPECT_EQ(lines, 10);
}

TEST(ProgressLogTest, PrintsWholeLinesWithCountsAndElapsedTime) {
  std::ostringstream out;
  absl::Time now = absl::UnixEpoch();
  ProgressLog::Options options;
  options.total = 4;
  options.steps = 2;
  options.out = &out;
  options.now = [&now] { return now; };
  auto log = ProgressLog::Create(options);
  ASSERT_TRUE(log.ok()) << log.status();
  now += absl::Milliseconds(1500);
  (*log)->Record(false);
  (*log)->Record(true);
  now += absl::Seconds(1);
  (*log)->Record(false);
  (*log)->Record(false);
  (*log)->Record(false);  // beyond the total: counted, not printed
  EXPECT_EQ(out.str(),
            "accuracy: 2/4 requests (50%), 1 failed, 1.5 s\n"
            "accuracy: 4/4 requests (100%), 1 failed, 2.5 s\n");
}

TEST(ProgressLogTest, ConcurrentRecordsPrintEveryStepOnce) {
  std::ostringstream out;
  ProgressLog::Options options;
  options.total = 400;
  options.out = &out;
  options.prefix = "reference";
  auto log = ProgressLog::Create(options);
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) (*log)->Record(false);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 10u) << out.str();
  EXPECT_EQ(lines.back().substr(0, 46), "reference: 400/400 requests (100%), 0 failed, ");
}

TEST(ProgressLogTest, RefusesBadOptions) {
  ProgressLog::Options options;
  options.total = 0;
  EXPECT_EQ(ProgressLog::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.total = 1;
  options.steps = 0;
  EXPECT_EQ(ProgressLog::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.steps = 1;
  options.out = nullptr;
  EXPECT_EQ(ProgressLog::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace speech
