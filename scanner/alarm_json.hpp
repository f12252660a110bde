// Internal to scanner/ and its tests: the general alarm serializer behind to_json().
#pragma once

#include <hopguard/alarm.hpp>

#include <string>

namespace hopguard::scanner {

// The alarm line built as a JSON document (nlohmann::json, invalid UTF-8 replaced by U+FFFD):
// what to_json() returns for every alarm. to_json() writes all-ASCII alarms directly, and
// must give these same bytes for them.
std::string alarm_json_reference(const Alarm& alarm);

}  // namespace hopguard::scanner
