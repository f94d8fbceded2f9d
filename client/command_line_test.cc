#include "client/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const CommandLine::Spec kSpec = {{"url", "output", "batch"}, {"help"}};

absl::StatusOr<CommandLine> Parse(std::vector<std::string> args) {
  return CommandLine::Parse(args, kSpec);
}

TEST(CommandLineTest, AcceptsBothValueFormsAnywhere) {
  absl::StatusOr<CommandLine> args =
      Parse({"--url=host:1", "infer", "--output", "A", "model", "--output=B", "--batch", "-4"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(args->positional(), ElementsAre("infer", "model"));
  EXPECT_EQ(args->GetString("url"), "host:1");
  EXPECT_THAT(args->GetAll("output"), ElementsAre("A", "B"));
  EXPECT_EQ(args->GetInt("batch", 1).value(), -4);
  EXPECT_FALSE(args->GetBool("help"));
}

TEST(CommandLineTest, LastValueWinsAndDefaultsApply) {
  absl::StatusOr<CommandLine> args = Parse({"--url=a", "--url=b"});
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->GetString("url"), "b");
  EXPECT_EQ(args->GetString("output", "none"), "none");
  EXPECT_EQ(args->GetInt("batch", 7).value(), 7);
  EXPECT_TRUE(args->GetAll("output").empty());
}

TEST(CommandLineTest, BoolFlagsAndDoubleDash) {
  absl::StatusOr<CommandLine> args = Parse({"-h", "--", "--url=x", "-"});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->GetBool("help"));
  EXPECT_THAT(args->positional(), ElementsAre("--url=x", "-"));
  EXPECT_FALSE(Parse({"--help=false"})->GetBool("help"));
  EXPECT_THAT(Parse({"--help=yes"}).status().message(), HasSubstr("true/false"));
}

TEST(CommandLineTest, RejectsBadInput) {
  EXPECT_THAT(Parse({"--nope"}).status().message(), HasSubstr("unknown flag --nope"));
  EXPECT_THAT(Parse({"-x"}).status().message(), HasSubstr("unknown flag -x"));
  EXPECT_THAT(Parse({"live", "--url"}).status().message(), HasSubstr("--url needs a value"));
  absl::StatusOr<CommandLine> args = Parse({"--batch=two"});
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->GetInt("batch", 1).status().message(), HasSubstr("needs an integer"));
}

}  // namespace
}  // namespace speech
