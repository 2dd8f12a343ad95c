/* ss_time: the clocks. Wall time (Unix ms) stamps records and ages things;
 * monotonic time drives timeouts. The wall clock can be shifted for tests by
 * ss_time_set_offset_ms (hq-hub's --clock-offset, documented in docs/testing.md). */
#ifndef SS_TIME_H
#define SS_TIME_H

#include <stdint.h>

int64_t ss_now_ms(void);      /* wall clock, Unix ms, plus the test offset */
int64_t ss_mono_ms(void);     /* monotonic ms, for timeouts only */
void ss_time_set_offset_ms(int64_t offset_ms);
void ss_sleep_ms(int64_t ms);

#endif
