// Orderings that gRPC guarantees inside its core, which Debian builds without ThreadSanitizer,
// told to TSan. gRPC takes an object of ours (a reactor at its Finish, an interceptor at its
// Proceed) and gives it back later, often on another thread (OnDone, the next hook, the
// destructor); what was written before the hand-off is settled when it comes back. Without these
// marks TSan reports the later accesses, the free among them, as races. The marks do nothing
// outside --config=tsan, which defines SPEECH_THREAD_SANITIZER (.bazelrc); HandOffAndFinish
// finishes the call in every build.
#ifndef SPEECH_SERVER_GRPC_REACTOR_HANDOFF_H_
#define SPEECH_SERVER_GRPC_REACTOR_HANDOFF_H_

#include <grpcpp/grpcpp.h>

#ifdef SPEECH_THREAD_SANITIZER
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace speech {

// Call right before handing `object` to gRPC (Finish, Proceed).
inline void HandOffToGrpc(void* object) {
#ifdef SPEECH_THREAD_SANITIZER
  __tsan_release(object);
#else
  (void)object;
#endif
}

// Call first where gRPC gives `object` back (OnDone, an interceptor's hook or destructor).
inline void TakeBackFromGrpc(void* object) {
#ifdef SPEECH_THREAD_SANITIZER
  __tsan_acquire(object);
#else
  (void)object;
#endif
}

// Hands `reactor` to gRPC and finishes its call with `status`. gRPC's Finish is inline code, so
// instrumented, and it reads the reactor (its stream pointer) after the hand-off, just before
// gRPC's core takes over and may run OnDone, which frees the reactor, on another thread. Kept out
// of line so that TSan names this frame in such a report, which tsan_suppressions.cc leaves
// alone; inlined into its caller, the read would carry the caller's name. Nothing else happens
// here, so no access of ours hides behind that suppression.
template <typename Reactor>
[[gnu::noinline]] void HandOffAndFinish(Reactor* reactor, const grpc::Status& status) {
  HandOffToGrpc(reactor);
  reactor->Finish(status);
}

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_REACTOR_HANDOFF_H_
