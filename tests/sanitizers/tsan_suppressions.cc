// What ThreadSanitizer leaves alone in Debian's libraries, which are built without it: linked
// into every binary under --config=tsan (see BUILD.bazel), so that the servers the end-to-end
// tests start carry it too, with no file to find at run time.
//
// A library that is not instrumented does not show TSan its own synchronisation: gRPC (with its
// upb parser and the Abseil pieces it uses) hands buffers and statuses between its threads
// through lock-free queues and atomics, OpenSSL counts references with atomics, and LibTorch's
// kernels hand work to OpenMP's threads through its barriers. TSan still sees what such a
// library does through the functions it intercepts (malloc and free, memcpy, send and receive),
// and reports those as races against each other. `called_from_lib` stops the interception for
// calls made from inside these libraries only: our code's accesses, the same memory included,
// stay checked. Abseil's mutexes (which gRPC uses too) are annotated in tsan_absl_annotations.cc
// rather than ignored, and gRPC's hand-offs of our reactors and interceptors in
// server/grpc/reactor_handoff.h.
//
// Not listed, and why: libprotobuf and libopenblas. protobuf's maps lock a mutex inside the
// library and unlock it in inline code of ours, which TSan would then see as an unlock of a mutex
// never locked. TSan refuses a pattern that matches two mappings of one library, as
// libopenblas's does.
//
// gRPC's C++ API is partly inline code, compiled into our binaries and instrumented, which hands
// its completion tags to gRPC's core and gets them back on another thread. `race_top` leaves
// alone the races whose innermost frame is that code (ServerUnaryReactor::Finish reads the
// reactor after the point where our code hands it off; when a unary reply has been sent, the
// batch's completion clears the reply's ByteBuffer, which our code filled on the thread that
// called Finish): one in our code, called from it, is still reported. Where the compiler inlines
// a reactor's Finish, the frame is HandOffAndFinish (server/grpc/reactor_handoff.h), which holds
// nothing but the hand-off and that call.
//
// Three such pieces of inline code copy a string through libstdc++, whose frame is then the
// innermost, so `race` names them anywhere in the stack: ServerSendStatus copies a finished
// call's status message into gRPC's operation set, and GetSendStatus copies it out for an
// interceptor, while the completion thread frees that set; a client's FinalizeResult copies the
// received status into the call's memory on gRPC's thread, after the caller allocated it before
// starting the call. Our code never runs below these frames.
//
// gRPC's own threads (its executor and timer threads, made by grpc_core::Thread) may still be
// unjoined when the process exits, since gRPC shuts down on a thread of its own after the last
// channel or server goes away; `thread` leaves those leak reports alone. Threads of ours are
// still reported when left unjoined.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libupb.so\n"
         // Abseil's pieces that gRPC uses on our data, or that keep a spin lock of their own.
         "called_from_lib:libabsl_status.so\n"
         "called_from_lib:libabsl_time.so\n"
         "called_from_lib:libabsl_cord.so\n"
         "called_from_lib:libabsl_cord_internal.so\n"
         "called_from_lib:libabsl_random_internal_pool_urbg.so\n"
         "called_from_lib:libssl.so\n"  // gRPC's TLS
         "called_from_lib:libcrypto.so\n"
         "called_from_lib:libtorch_cpu.so\n"
         "called_from_lib:libc10.so\n"
         "called_from_lib:libdnnl.so\n"
         "called_from_lib:libgomp.so\n"
         "race_top:grpc::internal::\n"
         "race_top:grpc::ServerUnaryReactor::Finish\n"
         "race_top:speech::HandOffAndFinish<\n"
         "race_top:grpc::ByteBuffer::Clear\n"
         "race:grpc::internal::CallOpServerSendStatus::ServerSendStatus\n"
         "race:grpc::internal::InterceptorBatchMethodsImpl::GetSendStatus\n"
         "race:CallOpClientRecvStatus>::FinalizeResult\n"
         "thread:grpc_core::Thread::Thread\n";
}
