// The decision record is an API: its exact shape is asserted here.
#include <hopguard/decision_record.hpp>
#include <hopguard/rule_id.hpp>

#include <gtest/gtest.h>

namespace hopguard {
namespace {

TEST(DecisionRecord, ExactShape) {
  const Request r{Role::legacy, "legacy1", "alice", Stage::session, "alice@HG.TEST", "127.0.0.4"};
  const Decision d{Verdict::deny, rule_id::regular_cred_on_legacy, "ordinary credential"};
  EXPECT_EQ(format_decision_record(r, d, "deny"),
            "verdict=deny rule=regular-cred-on-legacy role=legacy host=legacy1 user=alice "
            "principal=alice@HG.TEST rhost=127.0.0.4 stage=session reason=\"ordinary credential\"");
}

TEST(DecisionRecord, AbsentValuesAreEmptyQuotes) {
  const Request r{Role::bastion, "bastion", "alice", Stage::account, std::nullopt, std::nullopt};
  EXPECT_EQ(format_decision_record(r, Decision{Verdict::allow, {}, {}}, "allow"),
            "verdict=allow rule=\"\" role=bastion host=bastion user=alice principal=\"\" rhost=\"\" "
            "stage=account reason=\"\"");
}

TEST(DecisionRecord, HostileValuesAreEscapedAndBounded) {
  const std::string user = "bob rule=x\"\\\n\t\x01\xff=";
  const Request r{Role::legacy, "legacy1", user, Stage::account, std::nullopt, "127.0.0.4"};
  const std::string rec = format_decision_record(r, Decision{Verdict::deny, rule_id::legacy_login_not_via_bastion, "r"}, "deny");
  EXPECT_NE(rec.find(R"(user="bob rule=x\"\\\n\t\x01\xff=")"), std::string::npos) << rec;
  EXPECT_EQ(rec.find('\n'), std::string::npos);

  const std::string longp(1000, 'p');
  const Request l{Role::legacy, "legacy1", "alice", Stage::session, longp, "127.0.0.2"};
  const std::string rec2 = format_decision_record(l, Decision{}, "deny");
  EXPECT_NE(rec2.find("principal=\"" + std::string(kMaxRecordValue, 'p') + "...\" "), std::string::npos);
  EXPECT_LT(rec2.size(), 2 * kMaxRecordValue);
}

// A foreign principal of 255 non-ASCII bytes is 1020 bytes escaped, and the reason repeats it:
// the record must still fit the 2 KiB log buffers whole (a record cut before its end is
// unreadable to the scanner), so the reason is cut to fit, and only the reason.
TEST(DecisionRecord, WholeRecordFitsItsBoundCuttingTheReason) {
  std::string principal;
  for (int i = 0; i < 122; ++i) principal += "\xc3\xa9";  // "é" x 122: 244 bytes
  principal += "@OTHER.TEST";
  const Request r{Role::legacy, "legacy1", "alice", Stage::session, principal, "127.0.0.2"};
  const Decision d{Verdict::deny, rule_id::regular_cred_on_legacy,
                   "foreign principal " + principal + " on legacy guest legacy1, which accepts only " + principal};
  const std::string rec = format_decision_record(r, d, "deny");
  EXPECT_LE(rec.size(), kMaxRecordBytes);
  EXPECT_TRUE(rec.ends_with("...\"")) << rec;
  EXPECT_NE(rec.find("principal=\"\\xc3\\xa9"), std::string::npos) << rec;  // escaped, whole
  EXPECT_NE(rec.find("@OTHER.TEST\" rhost=127.0.0.2 stage=session reason=\"foreign principal "), std::string::npos)
      << rec;

  std::string more;
  append_record_field(more, "verdict", "deny");
  append_record_field(more, "x", std::string(kMaxRecordBytes, 'x'));  // cut at kMaxRecordValue
  append_reason_field(more, "short");
  EXPECT_TRUE(more.ends_with(" reason=short")) << more;
  std::string full(kMaxRecordBytes, 'y');
  append_reason_field(full, "anything");
  EXPECT_TRUE(full.ends_with(" reason=\"...\"")) << full.substr(full.size() - 40);
}

}  // namespace
}  // namespace hopguard
