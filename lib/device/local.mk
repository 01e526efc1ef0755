# lib/device: the device backend behind lib/device/device.h: CUDA (with NCCL
# groups, or without) or none.  Only these files see CUDA or NCCL headers;
# the flags below add include paths and libraries and are empty without CUDA.
lib_libh5ckpt_core_la_SOURCES += lib/device/device.h lib/device/device.c
if HAVE_CUDA
lib_libh5ckpt_core_la_SOURCES += lib/device/device_cuda.c lib/device/device_cuda.h
if HAVE_NCCL
lib_libh5ckpt_core_la_SOURCES += lib/device/device_nccl.c
else
lib_libh5ckpt_core_la_SOURCES += lib/device/device_nonccl.c
endif
else
lib_libh5ckpt_core_la_SOURCES += lib/device/device_none.c
endif
lib_libh5ckpt_core_la_CPPFLAGS += $(CUDA_CFLAGS) $(NCCL_CFLAGS)
lib_libh5ckpt_core_la_LIBADD += $(NCCL_LIBS) $(CUDA_LIBS)
