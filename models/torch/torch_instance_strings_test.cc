// BYTES through TorchInstance: inputs reach TorchScript as List[str], a List[str] result becomes
// each request's BYTES output, batched requests keep their own rows.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/torch_instance.h"
#include "models/torch/torch_test_support.h"
#include "proto/bytes_elements.h"

namespace speech {
namespace {

using ::testing::ElementsAre;

// Triton's simple_string: the strings hold integers; sums and differences come back as strings.
constexpr char kModule[] = R"(
def forward(self, a: List[str], b: List[str]):
    sums: List[str] = []
    differences: List[str] = []
    for i in range(len(a)):
        sums.append(str(int(a[i]) + int(b[i])))
        differences.append(str(int(a[i]) - int(b[i])))
    return sums, differences, torch.tensor([len(x) for x in a]).reshape(-1, 2)
)";

constexpr char kConfig[] = R"pb(
  name: "strings"
  max_batch_size: 8
  input { name: "INPUT0" data_type: TYPE_STRING dims: [ 2 ] }
  input { name: "INPUT1" data_type: TYPE_STRING dims: [ 2 ] }
  output { name: "OUTPUT0" data_type: TYPE_STRING dims: [ 2 ] }
  output { name: "OUTPUT1" data_type: TYPE_STRING dims: [ 2 ] }
  output { name: "LENGTHS" data_type: TYPE_INT64 dims: [ 2 ] }
)pb";

std::unique_ptr<InferenceRequest> Request(int64_t rows, const std::vector<std::string>& a,
                                          const std::vector<std::string>& b) {
  auto request = std::make_unique<InferenceRequest>();
  request->batch_rows = rows;
  for (const auto& [name, strings] : {std::make_pair("INPUT0", a), std::make_pair("INPUT1", b)}) {
    std::string& bytes = request->owned_data.emplace_back(PackBytesElements(strings));
    request->inputs.push_back(
        {name, inference::TYPE_STRING, {rows, 2}, bytes.data(), bytes.size()});
  }
  return request;
}

std::vector<std::string> Strings(const OutputTensor& output) {
  auto elements = SplitBytesElements(output.data, output.name);
  EXPECT_TRUE(elements.ok()) << elements.status();
  return std::vector<std::string>(elements->begin(), elements->end());
}

TEST(TorchInstanceStringsTest, BatchedStringRequestsGetTheirOwnRows) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(SaveModule("strings.pt", kModule), ParseConfig(kConfig)));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(Request(1, {"1", "20"}, {"3", "4"}));
  requests.push_back(Request(2, {"100", "7", "-5", "0"}, {"1", "7", "5", "12"}));
  const absl::Status status = Execute(*instance, requests);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(requests[0]->outputs[0].shape, ElementsAre(1, 2));
  EXPECT_THAT(Strings(requests[0]->outputs[0]), ElementsAre("4", "24"));
  EXPECT_THAT(Strings(requests[0]->outputs[1]), ElementsAre("-2", "16"));
  EXPECT_THAT(requests[1]->outputs[0].shape, ElementsAre(2, 2));
  EXPECT_THAT(Strings(requests[1]->outputs[0]), ElementsAre("101", "14", "0", "12"));
  EXPECT_THAT(Strings(requests[1]->outputs[1]), ElementsAre("99", "0", "-10", "-12"));
  // A tensor output beside them: one length per input string, in rows.
  EXPECT_THAT(Values<int64_t>(requests[1]->outputs[2]), ElementsAre(3, 1, 2, 1));
}

TEST(TorchInstanceStringsTest, AStringOutputThatIsNotAListOfStringsIsInternal) {
  constexpr char kWrong[] = R"(
def forward(self, a: List[str], b: List[str]):
    return torch.zeros(2), a, torch.zeros(2)
)";
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(SaveModule("wrong.pt", kWrong), ParseConfig(kConfig)));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(Request(1, {"1", "2"}, {"3", "4"}));
  ExpectInternal(Execute(*instance, requests),
                 {kInstanceName, "output 'OUTPUT0'", "expected a list of strings"});
}

}  // namespace
}  // namespace speech
