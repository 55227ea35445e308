// Proves proto/etcd/*.proto describe the same wire API as etcd 3.4's own .proto files: both are
// compiled by protoc into descriptor sets at build time (see meson.build) and compared here message by
// message, field by field (name, number, type, label, referenced type, oneof, json name), enum by enum
// and method by method (types and streaming flags), in both directions.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace pb = google::protobuf;

const std::set<std::string> kEtcdPackages = {"etcdserverpb", "mvccpb", "authpb", "v3lockpb",
                                             "v3electionpb"};

pb::FileDescriptorSet load_set(const char* path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  pb::FileDescriptorSet set;
  EXPECT_TRUE(set.ParseFromIstream(&in)) << "cannot parse " << path;
  return set;
}

std::unique_ptr<pb::DescriptorPool> build_pool(const pb::FileDescriptorSet& set) {
  auto pool = std::make_unique<pb::DescriptorPool>();
  for (const auto& file : set.file()) {
    EXPECT_NE(pool->BuildFile(file), nullptr) << "cannot build " << file.name();
  }
  return pool;
}

// Collects human-readable differences; empty means identical.
class descriptor_diff {
 public:
  descriptor_diff(const pb::DescriptorPool& theirs, const pb::DescriptorPool& ours)
      : theirs_(theirs), ours_(ours) {}

  std::vector<std::string> run(const pb::FileDescriptorSet& theirs_set,
                               const pb::FileDescriptorSet& ours_set) {
    compare_direction(theirs_set, theirs_, ours_, "ours");
    compare_direction(ours_set, ours_, theirs_, "etcd's");
    return std::move(diffs_);
  }

 private:
  // Every message/enum/service in `from` must exist in `to` and match it.
  void compare_direction(const pb::FileDescriptorSet& set, const pb::DescriptorPool& from,
                         const pb::DescriptorPool& to, const char* to_name) {
    for (const auto& file_proto : set.file()) {
      if (!kEtcdPackages.contains(file_proto.package())) continue;
      const pb::FileDescriptor* file = from.FindFileByName(file_proto.name());
      if (file == nullptr) continue;
      if (file->syntax() != pb::FileDescriptor::SYNTAX_PROTO3) note(file->name() + ": not proto3");
      for (int i = 0; i < file->message_type_count(); ++i) {
        message(file->message_type(i), to, to_name);
      }
      for (int i = 0; i < file->enum_type_count(); ++i) enumeration(file->enum_type(i), to, to_name);
      for (int i = 0; i < file->service_count(); ++i) service(file->service(i), to, to_name);
    }
  }

  void message(const pb::Descriptor* m, const pb::DescriptorPool& to, const char* to_name) {
    const pb::Descriptor* other = to.FindMessageTypeByName(m->full_name());
    if (other == nullptr) return note("message " + m->full_name() + " missing in " + to_name);
    if (m->field_count() != other->field_count()) note(m->full_name() + ": field count differs");
    for (int i = 0; i < m->field_count(); ++i) field(m->field(i), other, to_name);
    for (int i = 0; i < m->nested_type_count(); ++i) message(m->nested_type(i), to, to_name);
    for (int i = 0; i < m->enum_type_count(); ++i) enumeration(m->enum_type(i), to, to_name);
  }

  void field(const pb::FieldDescriptor* f, const pb::Descriptor* other_message,
             const char* to_name) {
    const pb::FieldDescriptor* o = other_message->FindFieldByName(f->name());
    const std::string where = f->full_name();
    if (o == nullptr) return note("field " + where + " missing in " + to_name);
    if (f->number() != o->number()) note(where + ": number differs");
    if (f->type() != o->type()) note(where + ": type differs");
    if (f->label() != o->label()) note(where + ": label differs");
    if (f->json_name() != o->json_name()) note(where + ": json name differs");
    if (f->message_type() != nullptr &&
        (o->message_type() == nullptr ||
         f->message_type()->full_name() != o->message_type()->full_name())) {
      note(where + ": message type differs");
    }
    if (f->enum_type() != nullptr &&
        (o->enum_type() == nullptr || f->enum_type()->full_name() != o->enum_type()->full_name())) {
      note(where + ": enum type differs");
    }
    const auto* oneof = f->containing_oneof();
    const auto* other_oneof = o->containing_oneof();
    if ((oneof == nullptr) != (other_oneof == nullptr) ||
        (oneof != nullptr && oneof->name() != other_oneof->name())) {
      note(where + ": oneof differs");
    }
  }

  void enumeration(const pb::EnumDescriptor* e, const pb::DescriptorPool& to, const char* to_name) {
    const pb::EnumDescriptor* o = to.FindEnumTypeByName(e->full_name());
    if (o == nullptr) return note("enum " + e->full_name() + " missing in " + to_name);
    if (e->value_count() != o->value_count()) note(e->full_name() + ": value count differs");
    for (int i = 0; i < e->value_count(); ++i) {
      const pb::EnumValueDescriptor* v = e->value(i);
      const pb::EnumValueDescriptor* ov = o->FindValueByName(v->name());
      if (ov == nullptr || ov->number() != v->number()) note("enum value " + v->full_name() + " differs");
    }
  }

  void service(const pb::ServiceDescriptor* s, const pb::DescriptorPool& to, const char* to_name) {
    const pb::ServiceDescriptor* o = to.FindServiceByName(s->full_name());
    if (o == nullptr) return note("service " + s->full_name() + " missing in " + to_name);
    if (s->method_count() != o->method_count()) note(s->full_name() + ": method count differs");
    for (int i = 0; i < s->method_count(); ++i) {
      const pb::MethodDescriptor* m = s->method(i);
      const pb::MethodDescriptor* om = o->FindMethodByName(m->name());
      if (om == nullptr) {
        note("method " + m->full_name() + " missing in " + to_name);
        continue;
      }
      if (m->input_type()->full_name() != om->input_type()->full_name()) {
        note(m->full_name() + ": input type differs");
      }
      if (m->output_type()->full_name() != om->output_type()->full_name()) {
        note(m->full_name() + ": output type differs");
      }
      if (m->client_streaming() != om->client_streaming()) note(m->full_name() + ": client streaming differs");
      if (m->server_streaming() != om->server_streaming()) note(m->full_name() + ": server streaming differs");
    }
  }

  void note(std::string difference) { diffs_.push_back(std::move(difference)); }

  const pb::DescriptorPool& theirs_;
  const pb::DescriptorPool& ours_;
  std::vector<std::string> diffs_;
};

std::string join(const std::vector<std::string>& lines) {
  std::ostringstream out;
  for (const auto& line : lines) out << line << "\n";
  return out.str();
}

std::vector<std::string> diff_sets(const pb::FileDescriptorSet& theirs_set,
                                   const pb::FileDescriptorSet& ours_set) {
  auto theirs = build_pool(theirs_set);
  auto ours = build_pool(ours_set);
  return descriptor_diff(*theirs, *ours).run(theirs_set, ours_set);
}

int count_etcd_messages(const pb::FileDescriptorSet& set) {
  int count = 0;
  for (const auto& file : set.file()) {
    if (kEtcdPackages.contains(file.package())) count += file.message_type_size();
  }
  return count;
}

TEST(ProtoDescriptor, OursMatchEtcdFieldByField) {
  const auto theirs = load_set(ETCD_REFERENCE_DESCRIPTORS);
  const auto ours = load_set(RINGKV_DESCRIPTORS);
  // Every etcd package is present on both sides (a vacuous comparison would pass otherwise).
  for (const auto* set : {&theirs, &ours}) {
    std::set<std::string> packages;
    for (const auto& file : set->file()) packages.insert(file.package());
    for (const auto& package : kEtcdPackages) EXPECT_TRUE(packages.contains(package)) << package;
  }
  EXPECT_GT(count_etcd_messages(theirs), 100);
  const auto diffs = diff_sets(theirs, ours);
  EXPECT_TRUE(diffs.empty()) << join(diffs);
}

// The comparison catches a changed field number, type, streaming flag and a missing message.
TEST(ProtoDescriptor, DetectsDifferences) {
  const auto theirs = load_set(ETCD_REFERENCE_DESCRIPTORS);
  auto ours = load_set(RINGKV_DESCRIPTORS);
  for (auto& file : *ours.mutable_file()) {
    if (file.package() == "mvccpb") {
      file.mutable_message_type(0)->mutable_field(1)->set_number(42);  // KeyValue.create_revision
    }
    if (file.package() == "etcdserverpb") {
      for (auto& service : *file.mutable_service()) {
        if (service.name() == "Watch") service.mutable_method(0)->set_client_streaming(false);
      }
      for (auto& message : *file.mutable_message_type()) {
        if (message.name() == "PutRequest") message.mutable_field(2)->set_type(pb::FieldDescriptorProto::TYPE_UINT64);
      }
      auto* messages = file.mutable_message_type();
      for (int i = 0; i < messages->size(); ++i) {
        if (messages->Get(i).name() == "LeaseCheckpointResponse") messages->DeleteSubrange(i, 1);
      }
    }
  }
  const std::string report = join(diff_sets(theirs, ours));
  EXPECT_NE(report.find("mvccpb.KeyValue.create_revision: number differs"), std::string::npos) << report;
  EXPECT_NE(report.find("etcdserverpb.Watch.Watch: client streaming differs"), std::string::npos) << report;
  EXPECT_NE(report.find("etcdserverpb.PutRequest.lease: type differs"), std::string::npos) << report;
  EXPECT_NE(report.find("missing in ours"), std::string::npos) << report;
}

}  // namespace
