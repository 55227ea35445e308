// tests/server/auth_store_test.cc — server/auth: key-range permission matching, the auth store's rules and
// revision (etcd 3.4's auth/store.go), its snapshot encoding, simple tokens and bcrypt.
#include <gtest/gtest.h>

#include <algorithm>

#include "server/auth/auth_store.h"
#include "server/auth/key_permission.h"
#include "server/auth/password_hash.h"
#include "server/auth/simple_tokens.h"

namespace ringkv::server::auth {
namespace {

authpb::Permission permission(authpb::Permission::Type type, std::string key, std::string range_end = {}) {
  authpb::Permission p;
  p.set_permtype(type);
  p.set_key(std::move(key));
  p.set_range_end(std::move(range_end));
  return p;
}

bool allowed(const std::vector<authpb::Permission>& granted, std::string key, std::string range_end, access need) {
  std::vector<const authpb::Permission*> pointers;
  for (const auto& p : granted) pointers.push_back(&p);
  return range_permitted(pointers, key, range_end, need);
}

const std::string from_key("\0", 1);

TEST(KeyPermission, SingleKeyGrantsOnlyThatKey) {
  std::vector<authpb::Permission> granted{permission(authpb::Permission::READ, "a")};
  EXPECT_TRUE(allowed(granted, "a", "", access::read));
  EXPECT_FALSE(allowed(granted, "a", "", access::write));
  EXPECT_FALSE(allowed(granted, "ab", "", access::read));
  EXPECT_FALSE(allowed(granted, "a", "b", access::read));  // [a, b) holds more than a
  EXPECT_TRUE(allowed(granted, "a", std::string("a\0", 2), access::read));  // [a, a\0) is a alone
}

TEST(KeyPermission, PrefixCoversItsKeysAndSubranges) {
  std::vector<authpb::Permission> granted{permission(authpb::Permission::READWRITE, "/p/", "/p0")};
  EXPECT_TRUE(allowed(granted, "/p/x", "", access::write));
  EXPECT_TRUE(allowed(granted, "/p/", "/p0", access::read));
  EXPECT_TRUE(allowed(granted, "/p/a", "/p/b", access::read));
  EXPECT_FALSE(allowed(granted, "/p", "/p0", access::read));
  EXPECT_FALSE(allowed(granted, "/p/", from_key, access::read));
  EXPECT_FALSE(allowed(granted, "/q", "", access::read));
}

TEST(KeyPermission, UnionOfRangesMustCoverTheRequest) {
  std::vector<authpb::Permission> granted{permission(authpb::Permission::READ, "a", "c"),
                                          permission(authpb::Permission::WRITE, "c", "e"),
                                          permission(authpb::Permission::READWRITE, "c", "f")};
  EXPECT_TRUE(allowed(granted, "a", "f", access::read));   // [a,c) + [c,f)
  EXPECT_FALSE(allowed(granted, "a", "g", access::read));
  EXPECT_FALSE(allowed(granted, "a", "d", access::write));  // [a,c) is read only
  EXPECT_TRUE(allowed(granted, "c", "f", access::write));
}

TEST(KeyPermission, FromKeyIsOpenEnded) {
  std::vector<authpb::Permission> granted{permission(authpb::Permission::WRITE, "m", from_key)};
  EXPECT_TRUE(allowed(granted, "z", "", access::write));
  EXPECT_TRUE(allowed(granted, "m", from_key, access::write));
  EXPECT_TRUE(allowed(granted, "n", "zz", access::write));
  EXPECT_FALSE(allowed(granted, "a", "", access::write));
  EXPECT_FALSE(allowed(granted, "z", "", access::read));
}

TEST(KeyPermission, NothingGrantedRefuses) {
  EXPECT_FALSE(allowed({}, "a", "", access::read));
  EXPECT_FALSE(allowed({}, "", from_key, access::write));
}

auth_store store_with_root() {
  auth_store store;
  EXPECT_EQ(store.user_add("root", "$2b$04$x", false), auth_errc::ok);
  EXPECT_EQ(store.user_grant_role("root", "root"), auth_errc::ok);
  return store;
}

TEST(AuthStore, EnableNeedsRootUserWithRootRole) {
  auth_store store;
  EXPECT_EQ(store.enable(), auth_errc::root_user_not_exist);
  ASSERT_EQ(store.user_add("root", "h", false), auth_errc::ok);
  EXPECT_EQ(store.enable(), auth_errc::root_role_not_exist);
  ASSERT_EQ(store.user_grant_role("root", "root"), auth_errc::ok);  // root needs no role record
  uint64_t before = store.revision();
  EXPECT_EQ(store.enable(), auth_errc::ok);
  EXPECT_TRUE(store.enabled());
  EXPECT_EQ(store.revision(), before);  // etcd 3.4's AuthEnable commits no revision (JWT claims name it)
  store.disable();
  EXPECT_EQ(store.revision(), before + 1);
}

TEST(AuthStore, RevisionGrowsOnlyWithChangesThatTookEffect) {
  auth_store store;
  EXPECT_EQ(store.revision(), 1u);
  EXPECT_EQ(store.user_add("u", "h", false), auth_errc::ok);
  EXPECT_EQ(store.revision(), 2u);
  EXPECT_EQ(store.user_add("u", "h", false), auth_errc::user_already_exist);
  EXPECT_EQ(store.role_add("r"), auth_errc::ok);
  EXPECT_EQ(store.user_grant_role("u", "r"), auth_errc::ok);
  uint64_t granted = store.revision();
  EXPECT_EQ(store.user_grant_role("u", "r"), auth_errc::ok);  // again: no change
  EXPECT_EQ(store.revision(), granted);
  store.disable();  // already disabled: no change
  EXPECT_EQ(store.revision(), granted);
}

TEST(AuthStore, EtcdErrorsForBadManagement) {
  auth_store store = store_with_root();
  ASSERT_EQ(store.enable(), auth_errc::ok);
  EXPECT_EQ(store.user_delete("root"), auth_errc::invalid_auth_mgmt);
  EXPECT_EQ(store.user_revoke_role("root", "root"), auth_errc::invalid_auth_mgmt);
  EXPECT_EQ(store.role_delete("root"), auth_errc::invalid_auth_mgmt);
  EXPECT_EQ(store.user_add("", "h", false), auth_errc::user_empty);
  EXPECT_EQ(store.role_add(""), auth_errc::role_empty);
  EXPECT_EQ(store.user_grant_role("nobody", "root"), auth_errc::user_not_found);
  EXPECT_EQ(store.user_grant_role("root", "nope"), auth_errc::role_not_found);
  EXPECT_EQ(store.user_revoke_role("root", "nope"), auth_errc::role_not_granted);
  EXPECT_EQ(store.role_revoke_permission("nope", "k", ""), auth_errc::role_not_found);
  ASSERT_EQ(store.role_add("r"), auth_errc::ok);
  EXPECT_EQ(store.role_revoke_permission("r", "k", ""), auth_errc::permission_not_granted);
}

TEST(AuthStore, GrantingTheSameRangeAgainReplacesItsType) {
  auth_store store;
  ASSERT_EQ(store.role_add("r"), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::READWRITE, "k")), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::READ, "k")), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::READ, "a", "b")), auth_errc::ok);
  const authpb::Role* role = store.find_role("r");
  ASSERT_NE(role, nullptr);
  ASSERT_EQ(role->keypermission_size(), 2);
  EXPECT_EQ(role->keypermission(0).key(), "a");  // sorted by key
  EXPECT_EQ(role->keypermission(1).permtype(), authpb::Permission::READ);
}

TEST(AuthStore, OperationChecksFollowEtcdsOrder) {
  auth_store store = store_with_root();
  ASSERT_EQ(store.user_add("u", "h", false), auth_errc::ok);
  ASSERT_EQ(store.role_add("r"), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::READ, "/u/", "/u0")), auth_errc::ok);
  ASSERT_EQ(store.user_grant_role("u", "r"), auth_errc::ok);
  EXPECT_EQ(store.op_permitted("", 0, "/x", "", access::write), auth_errc::ok);  // disabled: everything
  ASSERT_EQ(store.enable(), auth_errc::ok);
  uint64_t now = store.revision();
  EXPECT_EQ(store.op_permitted("", 0, "/u/a", "", access::read), auth_errc::user_empty);
  EXPECT_EQ(store.op_permitted("u", now - 1, "/u/a", "", access::read), auth_errc::auth_old_revision);
  EXPECT_EQ(store.op_permitted("u", now, "/u/a", "", access::read), auth_errc::ok);
  EXPECT_EQ(store.op_permitted("u", now, "/u/a", "", access::write), auth_errc::permission_denied);
  EXPECT_EQ(store.op_permitted("gone", now, "/u/a", "", access::read), auth_errc::permission_denied);
  EXPECT_EQ(store.op_permitted("root", now, "/anything", from_key, access::write), auth_errc::ok);
  EXPECT_EQ(store.admin_permitted(""), auth_errc::user_empty);
  EXPECT_EQ(store.admin_permitted("gone"), auth_errc::user_not_found);
  EXPECT_EQ(store.admin_permitted("u"), auth_errc::permission_denied);
  EXPECT_EQ(store.admin_permitted("root"), auth_errc::ok);
  ASSERT_EQ(store.role_delete("r"), auth_errc::ok);  // revoked from u too
  EXPECT_FALSE(store.has_role("u", "r"));
  EXPECT_EQ(store.op_permitted("u", store.revision(), "/u/a", "", access::read), auth_errc::permission_denied);
}

TEST(AuthStore, SnapshotRoundTripAndCorruption) {
  auth_store store = store_with_root();
  ASSERT_EQ(store.role_add("r"), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::WRITE, "k", from_key)), auth_errc::ok);
  ASSERT_EQ(store.user_add("np", "", true), auth_errc::ok);
  ASSERT_EQ(store.enable(), auth_errc::ok);
  std::string bytes;
  store.encode(bytes);
  auto copy = auth_store::decode(bytes);
  ASSERT_TRUE(copy);
  EXPECT_TRUE(copy->enabled());
  EXPECT_EQ(copy->revision(), store.revision());
  EXPECT_EQ(copy->user_names(), store.user_names());
  EXPECT_EQ(copy->role_names(), store.role_names());
  EXPECT_TRUE(copy->find_user("np")->options().no_password());
  std::string again;
  copy->encode(again);
  EXPECT_EQ(again, bytes);
  EXPECT_FALSE(auth_store::decode(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(auth_store::decode(bytes + "x"));
  EXPECT_FALSE(auth_store::decode(""));
}

TEST(AuthStore, EtcdRecordsRoundTripAndRefuseBadOnes) {
  auth_store store = store_with_root();
  ASSERT_EQ(store.role_add("r"), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::READ, "b")), auth_errc::ok);
  ASSERT_EQ(store.role_grant_permission("r", permission(authpb::Permission::WRITE, "a", from_key)), auth_errc::ok);
  ASSERT_EQ(store.user_add("u", "$2a$10$hash", false), auth_errc::ok);
  ASSERT_EQ(store.user_grant_role("u", "r"), auth_errc::ok);
  ASSERT_EQ(store.enable(), auth_errc::ok);
  std::string problem;
  auto copy = auth_store::from_records(true, store.revision(), store.user_records(), store.role_records(), problem);
  ASSERT_TRUE(copy) << problem;
  std::string a, b;
  store.encode(a);
  copy->encode(b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(copy->op_permitted("u", copy->revision(), "a1", {}, access::write), auth_errc::ok);
  EXPECT_EQ(copy->op_permitted("u", copy->revision(), "0", {}, access::write), auth_errc::permission_denied);

  // etcd's order is not trusted: unsorted roles and permissions are put in the store's order.
  auto roles = store.role_records();
  auto r = std::find_if(roles.begin(), roles.end(), [](const auto& record) { return record.first == "r"; });
  ASSERT_NE(r, roles.end());
  authpb::Role unsorted;
  ASSERT_TRUE(unsorted.ParseFromString(r->second));
  std::swap(*unsorted.mutable_keypermission(0), *unsorted.mutable_keypermission(1));
  r->second = unsorted.SerializeAsString();
  auto resorted = auth_store::from_records(true, 0, store.user_records(), roles, problem);
  ASSERT_TRUE(resorted) << problem;
  EXPECT_EQ(resorted->revision(), 1u);  // 0 is taken as etcd's initial revision
  EXPECT_EQ(resorted->find_role("r")->keypermission(0).key(), "a");

  auto users = store.user_records();
  users[0].first = "someone-else";  // names another user than its key
  EXPECT_FALSE(auth_store::from_records(true, 5, users, store.role_records(), problem));
  EXPECT_NE(problem.find("someone-else"), std::string::npos);
  users = store.user_records();
  users[0].second = "\xff\xff";  // does not parse
  EXPECT_FALSE(auth_store::from_records(true, 5, users, store.role_records(), problem));
  users = store.user_records();
  users.push_back(users[0]);
  EXPECT_FALSE(auth_store::from_records(true, 5, users, store.role_records(), problem));
  EXPECT_NE(problem.find("twice"), std::string::npos);
}

TEST(SimpleTokens, ExpireUnlessUsedAndDropWithTheirUser) {
  simple_tokens tokens(1000);
  tokens.assign("t1", "u", 0);
  tokens.assign("t2", "v", 0);
  EXPECT_EQ(tokens.user_of("t1", 900), "u");   // renewed until 1900
  EXPECT_EQ(tokens.user_of("t1", 1800), "u");
  EXPECT_FALSE(tokens.user_of("t2", 1800));    // expired at 1000
  EXPECT_FALSE(tokens.user_of("nope", 0));
  tokens.invalidate_user("u");
  EXPECT_FALSE(tokens.user_of("t1", 1801));
  EXPECT_EQ(simple_token_prefix().size(), 16u);
  EXPECT_NE(simple_token_prefix(), simple_token_prefix());
}

TEST(PasswordHash, BcryptHashesAndVerifies) {
  auto hash = bcrypt_hash("secret", bcrypt_cost_min);
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$2b$04$"));
  EXPECT_TRUE(bcrypt_verify("secret", *hash));
  EXPECT_FALSE(bcrypt_verify("Secret", *hash));
  EXPECT_FALSE(bcrypt_verify("", ""));  // a no-password user never verifies
  EXPECT_FALSE(bcrypt_hash("x", 3));
  // Go's bcrypt ($2a$, etcd's hashes) verifies too: "pa" at cost 4.
  auto go_style = bcrypt_hash("pa", 4);
  ASSERT_TRUE(go_style);
  std::string as_2a = "$2a$" + go_style->substr(4);
  EXPECT_TRUE(bcrypt_verify("pa", as_2a));
}

}  // namespace
}  // namespace ringkv::server::auth
