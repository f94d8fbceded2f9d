// TorchInstance::Execute on modules that misbehave: outputs of the wrong type, count, kind or
// rows, and modules that raise, each an internal error after which the instance still works.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/torch_instance.h"
#include "models/torch/torch_test_support.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- Execute on modules that misbehave ---

TEST(TorchInstanceExecuteTest, OutputTypeDifferentFromConfigIsInternal) {
  const std::string path = SaveModule("double.pt", R"(
def forward(self, x):
    return x.double()
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));
  requests.push_back(FloatRequest({1, 2}, {3.0f, 4.0f}));

  absl::Status status = Execute(*instance, requests);
  ExpectInternal(status, {kInstanceName, "'OUTPUT0'", "Double", "TYPE_FP32"});
  EXPECT_EQ(requests[0]->executed_batch_rows, 0);
  EXPECT_EQ(requests[0]->times.compute_output_end, absl::InfinitePast());
}

TEST(TorchInstanceExecuteTest, OutputTypeOfSameSizeDifferentFromConfigIsInternal) {
  // INT32 has FP32's size: only the type check, not a byte count, can tell them apart.
  const std::string path = SaveModule("int.pt", R"(
def forward(self, x):
    return x.int()
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));

  ExpectInternal(Execute(*instance, requests), {"'OUTPUT0'", "Int", "TYPE_FP32"});
}

TEST(TorchInstanceExecuteTest, WrongNumberOfOutputsIsInternal) {
  const std::string path = SaveModule("two.pt", R"(
def forward(self, x):
    return (x, x)
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));

  ExpectInternal(Execute(*instance, requests),
                 {kInstanceName, "forward() returned 2 values; the configuration lists 1"});
}

TEST(TorchInstanceExecuteTest, TupleHoldingANonTensorIsInternal) {
  const std::string path = SaveModule("tensor_and_int.pt", R"(
def forward(self, x):
    return (x, 1)
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kTwoOutputs))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));

  ExpectInternal(Execute(*instance, requests),
                 {kInstanceName, "returned a Int for output 'OUTPUT1'; expected a tensor"});
}

TEST(TorchInstanceExecuteTest, NonTensorResultIsInternal) {
  const std::string path = SaveModule("int_result.pt", R"(
def forward(self, x) -> int:
    return 1
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));

  ExpectInternal(Execute(*instance, requests), {kInstanceName, "forward() returned a Int"});
}

TEST(TorchInstanceExecuteTest, OutputRowsDifferentFromBatchRowsAreInternal) {
  const std::string path = SaveModule("doubled_rows.pt", R"(
def forward(self, x):
    return torch.cat([x, x])
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));
  requests.push_back(FloatRequest({2, 2}, {3.0f, 4.0f, 5.0f, 6.0f}));

  ExpectInternal(Execute(*instance, requests),
                 {kInstanceName, "'OUTPUT0'", "[6, 2]", "expected 3 rows"});
}

TEST(TorchInstanceExecuteTest, ScalarOutputOfBatchingModelIsInternal) {
  const std::string path = SaveModule("sum.pt", R"(
def forward(self, x):
    return x.sum()
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));

  ExpectInternal(Execute(*instance, requests), {"'OUTPUT0'", "expected 1 rows"});
}

TEST(TorchInstanceExecuteTest, ModuleThatRaisesIsInternalAndInstanceStillWorks) {
  // TorchScript compiled from C++ has no `Exception` in scope; a failed assert raises as well.
  const std::string path = SaveModule("raises.pt", R"(
def forward(self, x):
    assert bool(x.sum() >= 0.0), "boom"
    return x.clone()
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);

  std::vector<std::unique_ptr<InferenceRequest>> bad;
  bad.push_back(FloatRequest({1, 2}, {-1.0f, -2.0f}));
  const absl::Status raised = Execute(*instance, bad);
  ExpectInternal(raised, {"instance 'test_instance' failed to run the model", "boom"});
  // The error itself, not the interpreter's traceback or where the code was.
  EXPECT_THAT(std::string(raised.message()),
              ::testing::Not(::testing::AnyOf(HasSubstr("Traceback"), HasSubstr("File \""),
                                              HasSubstr("\n"), HasSubstr(".cpp"))));
  EXPECT_LT(raised.message().size(), 400u) << raised.message();
  EXPECT_TRUE(bad[0]->outputs.empty());

  std::vector<std::unique_ptr<InferenceRequest>> good;
  good.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));
  ASSERT_TRUE(Execute(*instance, good).ok());
  EXPECT_THAT(Values<float>(good[0]->outputs[0]), ElementsAre(1.0f, 2.0f));
}

TEST(TorchInstanceExecuteTest, OpFailingOnShapesIsInternalAndInstanceStillWorks) {
  const std::string path = SaveModule("rows_of_three.pt", R"(
def forward(self, x):
    return x.view([-1, 3])
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);

  std::vector<std::unique_ptr<InferenceRequest>> bad;
  bad.push_back(FloatRequest({1, 4}, Iota(4, 0)));
  const absl::Status failed = Execute(*instance, bad);
  ExpectInternal(failed, {"instance 'test_instance' failed to run the model", "shape"});
  EXPECT_THAT(std::string(failed.message()),
              ::testing::Not(::testing::AnyOf(HasSubstr("Traceback"), HasSubstr("\n"),
                                              HasSubstr(".cpp"))));

  std::vector<std::unique_ptr<InferenceRequest>> good;
  good.push_back(FloatRequest({1, 3}, Iota(3, 0)));
  ASSERT_TRUE(Execute(*instance, good).ok());
  EXPECT_THAT(good[0]->outputs[0].shape, ElementsAre(1, 3));
}

}  // namespace
}  // namespace speech
