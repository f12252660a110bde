#include <hopguard/policy_cache.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace hopguard {

PolicyCache::Snapshot PolicyCache::get(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error_ = path + ": cannot read config: " + std::strerror(errno);
    have_id_ = false;
    if (!keep_last_good_) policy_.reset();
    return {policy_, error_};
  }
  const FileId id{static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
                  static_cast<unsigned long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                  static_cast<long long>(st.st_mtim.tv_nsec)};
  if (have_id_ && id == id_ && path == path_) return {policy_, error_};

  auto loaded = Policy::load_file(path);
  path_ = path;
  id_ = id;
  have_id_ = true;
  if (loaded) {
    policy_ = std::make_shared<const Policy>(std::move(loaded).value());
    error_.clear();
  } else {
    error_ = to_string(loaded.errors());
    if (!error_.empty() && error_.back() == '\n') error_.pop_back();
    if (!keep_last_good_) policy_.reset();
  }
  return {policy_, error_};
}

}  // namespace hopguard
