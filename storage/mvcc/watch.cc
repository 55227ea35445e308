// storage/mvcc/watch.cc: watchers served from the stored history, never by blocking the writer.
// A watcher is a key range plus a cursor (main, sub): the next revision it has not yet received.
// Writes only mark matching watchers ready (hash lookup for single-key watchers, a scan of the range
// watchers); watch_poll then reads events from the cursor on, bounded per call: single-key watchers
// from the key's own versions, range watchers from the revision-ordered history log. A watcher behind
// is therefore served incrementally from history, and one whose cursor fell below the compaction
// point gets etcd's compacted answer. A held watcher (its stream is full) is off the lists writes look
// at: it keeps only its cursor until watch_resume().
#include <algorithm>
#include <cassert>
#include <cstdint>

#include "storage/mvcc/store.h"

namespace ringkv::storage::mvcc {

bool MvccStore::watch_matches(const WatchCreateRequest& r, std::string_view key) const {
  if (r.range_end.empty()) return key == r.key;
  if (key < std::string_view(r.key)) return false;
  bool unbounded = r.range_end.size() == 1 && r.range_end[0] == '\0';
  return unbounded || key < std::string_view(r.range_end);
}

void MvccStore::mark_ready(watch_id_t id, Watcher& w) {
  if (w.listed_ready) return;
  w.listed_ready = true;
  ready_.push_back(id);
}

void MvccStore::notify_watchers(key_id_t id) {
  std::string_view key = keys_[id].key();
  if (!key_watchers_.empty()) {
    auto it = key_watchers_.find(key);
    if (it != key_watchers_.end()) {
      for (watch_id_t wid : it->second) mark_ready(wid, watchers_.at(wid));
    }
  }
  for (watch_id_t wid : range_watchers_) {
    Watcher& w = watchers_.at(wid);
    if (watch_matches(w.req, key)) mark_ready(wid, w);
  }
}

void MvccStore::watch_listen(watch_id_t id, const Watcher& w) {
  if (w.single_key) {
    key_watchers_[w.req.key].push_back(id);
  } else {
    range_watchers_.push_back(id);
  }
}

void MvccStore::watch_unlisten(watch_id_t id, const Watcher& w) {
  if (w.single_key) {
    auto kit = key_watchers_.find(w.req.key);
    assert(kit != key_watchers_.end());
    std::erase(kit->second, id);
    if (kit->second.empty()) key_watchers_.erase(kit);
  } else {
    std::erase(range_watchers_, id);
  }
}

watch_id_t MvccStore::watch_create(const WatchCreateRequest& r) {
  watch_id_t id = next_watch_id_++;
  Watcher w{r, r.start_revision > 0 ? r.start_revision : current_rev_ + 1, 0, r.range_end.empty()};
  auto& stored = watchers_.emplace(id, std::move(w)).first->second;
  watch_listen(id, stored);
  if (stored.next_main <= current_rev_ || stored.next_main < compact_rev_) mark_ready(id, stored);
  return id;
}

Errc MvccStore::watch_cancel(watch_id_t id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return Errc::watch_not_found;
  const Watcher& w = it->second;
  if (!w.held) watch_unlisten(id, w);
  if (w.listed_ready) std::erase(ready_, id);
  watchers_.erase(it);
  return Errc::ok;
}

bool MvccStore::watch_caught_up(watch_id_t id) const {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return false;
  // Every write that matches marks the watcher ready, and a poll that leaves events behind marks it
  // again: a watcher off the ready list has nothing waiting, whatever the revision did meanwhile. One
  // still listed has nothing waiting either once a poll moved its cursor past the current revision.
  return (!it->second.listed_ready && !it->second.held) || it->second.next_main > current_rev_;
}

void MvccStore::watch_hold(watch_id_t id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end() || it->second.held) return;
  it->second.held = true;
  watch_unlisten(id, it->second);
}

void MvccStore::watch_resume(watch_id_t id) {
  auto it = watchers_.find(id);
  if (it != watchers_.end() && it->second.held) mark_ready(id, it->second);
}

void MvccStore::advance_caught_up_watchers() {
  // A watcher neither ready nor held has been handed every event up to current_rev_ (each matching
  // write marks it ready): its cursor may lag only because nothing matched since its last poll. Move
  // it past current_rev_ so a compaction never cancels it - etcd compacts only unsynced watchers.
  for (auto& [id, w] : watchers_) {
    if (!w.listed_ready && !w.held && w.next_main <= current_rev_) {
      w.next_main = current_rev_ + 1;
      w.next_sub = 0;
    }
  }
}

std::vector<watch_id_t> MvccStore::take_ready_watchers() {
  std::vector<watch_id_t> out;
  out.swap(ready_);
  for (watch_id_t id : out) watchers_.at(id).listed_ready = false;
  return out;
}

std::optional<EventView> MvccStore::event_view(const Watcher& w, const KeyEntry& e, const Version& v) const {
  if (v.tombstone ? w.req.filter_delete : w.req.filter_put) return std::nullopt;
  EventView ev;
  if (v.tombstone) {
    ev.type = Event::Type::del;
    ev.kv.key = e.key();
    ev.kv.mod_revision = v.mod;
  } else {
    ev.type = Event::Type::put;
    ev.kv = view_of(e, v);
  }
  // etcd fetches prev_kv as Range(key, rev = mod - 1): absent when compacted or not live then.
  if (w.req.prev_kv && v.mod - 1 >= compact_rev_) {
    int64_t i = e.find_at(v.mod - 1);
    if (i >= 0 && !e.versions()[i].tombstone) ev.prev_kv = view_of(e, e.versions()[i]);
  }
  return ev;
}

Result<WatchPollResult> MvccStore::watch_poll(watch_id_t id, size_t max_events) {
  std::vector<Event> events;
  auto polled = watch_poll_views(id, max_events, SIZE_MAX, [&](const EventView& ev) { events.push_back(ev.to_owned()); });
  if (polled.ok()) polled->events = std::move(events);
  return polled;
}

Result<WatchPollResult> MvccStore::watch_poll_views(watch_id_t id, size_t max_events, size_t max_bytes,
                                                    const std::function<void(const EventView&)>& visit) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return Errc::watch_not_found;
  Watcher& w = it->second;
  if (w.held) {
    w.held = false;
    watch_listen(id, w);
  }
  WatchPollResult out;
  size_t emitted = 0;
  size_t emitted_bytes = 0;
  auto full = [&] { return emitted >= max_events || emitted_bytes >= max_bytes; };
  auto emit = [&](const KeyEntry& e, const Version& v) {
    if (auto ev = event_view(w, e, v)) {
      visit(*ev);
      ++emitted;
      emitted_bytes += ev->kv.key.size() + ev->kv.value.size();
      if (ev->prev_kv) emitted_bytes += ev->prev_kv->key.size() + ev->prev_kv->value.size();
    }
  };
  if (w.next_main < compact_rev_) {
    out.compact_revision = compact_rev_;
    watch_cancel(id);
    return out;
  }
  auto advance_past = [&](int64_t main, uint32_t sub) {
    w.next_main = main;
    w.next_sub = sub + 1;
  };
  if (w.single_key) {
    key_id_t kid = hash_.find(w.req.key);
    if (kid != no_key_id) {
      const KeyEntry& e = keys_[kid];
      auto vs = e.versions();
      auto first = std::lower_bound(vs.begin(), vs.end(), w, [](const Version& v, const Watcher& x) {
        return v.before(x.next_main, x.next_sub);
      });
      for (auto v = first; v != vs.end(); ++v) {
        if (full()) {
          out.more = true;
          break;
        }
        emit(e, *v);
        advance_past(v->mod, v->sub);
      }
    }
  } else {
    auto first = std::lower_bound(log_.begin(), log_.end(), w, [](const LogEntry& l, const Watcher& x) {
      return l.main < x.next_main || (l.main == x.next_main && l.sub < x.next_sub);
    });
    uint32_t scanned = 0;
    for (auto l = first; l != log_.end(); ++l) {
      if (full() || scanned >= config_.watch_scan_entries_limit) {
        out.more = true;
        break;
      }
      ++scanned;
      advance_past(l->main, l->sub);
      const KeyEntry& e = keys_[l->id];
      if (!e.in_use() || !watch_matches(w.req, e.key())) continue;
      auto vs = e.versions();
      auto v = std::lower_bound(vs.begin(), vs.end(), *l,
                                [](const Version& x, const LogEntry& le) { return x.before(le.main, le.sub); });
      // The version is gone if compaction released it (or the id now names another key).
      if (v == vs.end() || v->mod != l->main || v->sub != l->sub) continue;
      emit(e, *v);
    }
  }
  // Nothing more below the current revision: continue from the next revision.
  if (!out.more && w.next_main <= current_rev_) {
    w.next_main = current_rev_ + 1;
    w.next_sub = 0;
  }
  if (out.more) mark_ready(id, w);
  return out;
}

}  // namespace ringkv::storage::mvcc
