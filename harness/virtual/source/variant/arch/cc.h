// esp-hil: lwIP's platform header for this board.
//
// On the firmware LWIP_ASSERT is compiled out, so misuse of lwIP goes on silently
// (and may corrupt memory). Here a failed assert prints its message where the
// board's output goes and stops the interpreter, so the test that caused it fails.
#ifndef HIL_LWIP_ARCH_CC_H
#define HIL_LWIP_ARCH_CC_H

void hil_lwip_assert(const char *msg, int line, const char *file);

#define LWIP_PLATFORM_DIAG(x)
#define LWIP_PLATFORM_ASSERT(x) hil_lwip_assert((x), __LINE__, __FILE__)
#define LWIP_NO_CTYPE_H 1

#endif
