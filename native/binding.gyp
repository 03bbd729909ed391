{
  "targets": [
    {
      "target_name": "zoo_jpeg",
      "sources": ["zoo_jpeg.c"],
      "include_dirs": ["<!@(node jpeg-flags.mjs include)"],
      "libraries": ["<!@(node jpeg-flags.mjs libs)"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "xcode_settings": { "GCC_OPTIMIZATION_LEVEL": "2" }
    }
  ]
}
