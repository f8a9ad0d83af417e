#include "common/clock.hpp"

namespace streamgate {

instant now() {
  using namespace std::chrono;
  return {steady_clock::now(),
          duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

std::string format_iso8601(std::int64_t wall_ms) {
  // Calendar arithmetic (std::chrono's civil dates) rather than gmtime_r and snprintf: every
  // start's answer carries two of these, and gmtime_r takes the time zone lock each time.
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds{wall_ms}};
  const sys_days day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{at - day};
  std::string text;
  text.reserve(24);
  const auto digits = [&text](long long value, int count) {
    char out[4];
    for (int i = count - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
    text.append(out, static_cast<std::size_t>(count));
  };
  const int year = static_cast<int>(date.year());
  if (year >= 0 && year <= 9999)
    digits(year, 4);
  else  // no four digits hold it: written whole, as printf's %04d did
    text += std::to_string(year);
  text += '-';
  digits(static_cast<unsigned>(date.month()), 2);
  text += '-';
  digits(static_cast<unsigned>(date.day()), 2);
  text += 'T';
  digits(time.hours().count(), 2);
  text += ':';
  digits(time.minutes().count(), 2);
  text += ':';
  digits(time.seconds().count(), 2);
  text += '.';
  digits(time.subseconds().count(), 3);
  text += 'Z';
  return text;
}

}  // namespace streamgate
