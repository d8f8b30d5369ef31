#include "cwasi/common/json_fields.h"

#include <gtest/gtest.h>

namespace cwasi {
namespace {

using nlohmann::json;

TEST(JsonFields, AFieldOfAnotherTypeReadsAsMissing) {
  const json j = json::parse(R"({"s": "x", "n": 5, "b": true, "o": {"k": 1}, "f": 1.5, "neg": -3})");
  EXPECT_EQ(jsonString(j, "s"), "x");
  EXPECT_EQ(jsonString(j, "n", "dflt"), "dflt");
  EXPECT_EQ(jsonString(j, "missing", "dflt"), "dflt");
  EXPECT_TRUE(jsonBool(j, "b", false));
  EXPECT_TRUE(jsonBool(j, "s", true));
  EXPECT_EQ(jsonObject(j, "o"), json({{"k", 1}}));
  EXPECT_EQ(jsonObject(j, "s"), json::object());
  EXPECT_EQ(jsonInteger<int>(j, "n", 0), 5);
  EXPECT_EQ(jsonInteger<int>(j, "f", 7), 7);  // a float is no integer
  EXPECT_EQ(jsonInteger<int>(j, "neg", 0), -3);
  EXPECT_EQ(jsonInteger<uint64_t>(j, "neg", 9), 9u);
}

TEST(JsonFields, IntegersOutOfRangeReadAsMissing) {
  const json j = json::parse(R"({"big": 99999999999, "huge": 18446744073709551615})");
  EXPECT_EQ(jsonInteger<int>(j, "big", -1), -1);
  EXPECT_EQ(jsonInteger<int64_t>(j, "big", -1), 99999999999);
  EXPECT_EQ(jsonInteger<uint64_t>(j, "huge", 0), UINT64_MAX);
  EXPECT_EQ(jsonInteger<int64_t>(j, "huge", -1), -1);
}

TEST(JsonFields, ADocumentThatIsNoObjectHasNoFields) {
  for (const char* text : {"[1]", "3", "\"s\"", "null"}) {
    const json j = json::parse(text);
    EXPECT_EQ(jsonString(j, "s", "d"), "d") << text;
    EXPECT_EQ(jsonInteger<int>(j, "n", 4), 4) << text;
  }
}

}  // namespace
}  // namespace cwasi
