/*
 * zoo_jpeg: an exact JPEG decoder on the system's libjpeg-turbo, as a Node-API addon.
 *
 * Decodes with the settings Pillow uses (and libvips, which sharp wraps): JDCT_ISLOW, fancy
 * upsampling, block smoothing left at libjpeg's default, no DCT scaling, no colour management and
 * no EXIF orientation (markers are skipped, not saved). The RGB rows are written straight into the
 * caller's buffer; CMYK/YCCK (libjpeg turns YCCK into CMYK) is converted row by row with Pillow's
 * cmyk2rgb integer arithmetic after un-inverting Adobe CMYK, exactly as zoo's sharp path does.
 *
 * Two calls, both synchronous (the loader calls them on its worker threads, one image at a time):
 *   header(buf)          -> [width, height, components]   (reads only the markers up to SOS)
 *   decodeInto(buf, out) -> undefined                     (out: Uint8Array of width*height*3)
 * Failures throw an Error whose message is libjpeg's, prefixed by a code the caller maps:
 *   "truncated: ..."  the data ended before the image did (libjpeg's JWRN_JPEG_EOF warning);
 *   "corrupt: ..."    any libjpeg error (bad marker, bad Huffman table, unsupported process...).
 * Other libjpeg warnings (extraneous bytes, corrupt data it can skip) are ignored, as libvips
 * (sharp's failOn: 'truncated') ignores them, up to 100 (libvips' limit). A failure's message is the
 * first warning's when one came first, as the first line of libvips' error buffer reads. libjpeg reports errors by longjmp; nothing
 * Node-API is called between setjmp and the longjmp target, so no JS state is skipped over.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <node_api.h>

struct zoo_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  /* "truncated" or "corrupt", and the message reported: the first warning's when one came first. */
  const char *kind;
  char message[JMSG_LENGTH_MAX];
  int have_first_warning;
  char first_warning[JMSG_LENGTH_MAX];
};

/* Fail with `message` unless an earlier warning was seen: then with that warning's text, as libvips
 * (whose error buffer sharp reports the first line of) records the first warning and the error after. */
static void zoo_fail(j_common_ptr cinfo, const char *kind, const char *message) {
  struct zoo_error *err = (struct zoo_error *)cinfo->err;
  err->kind = kind;
  snprintf(err->message, sizeof err->message, "%s", err->have_first_warning ? err->first_warning : message);
  longjmp(err->jump, 1);
}

static void zoo_error_exit(j_common_ptr cinfo) {
  char message[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, message);
  zoo_fail(cinfo, "corrupt", message);
}

static void zoo_emit_message(j_common_ptr cinfo, int level) {
  struct zoo_error *err = (struct zoo_error *)cinfo->err;
  if (level >= 0) return; /* trace messages */
  /* libjpeg's memory source inserts a fake EOI and warns when the data runs out: a truncated
   * file. Stop here instead of returning the gray-filled rest, as sharp's failOn: 'truncated'
   * does, with libvips' text for it. */
  if (err->pub.msg_code == JWRN_JPEG_EOF) zoo_fail(cinfo, "truncated", "premature end of JPEG image");
  if (++err->pub.num_warnings == 1) {
    (*cinfo->err->format_message)(cinfo, err->first_warning);
    err->have_first_warning = 1;
  } else if (err->pub.num_warnings >= 100) {
    /* A stream of corrupt data: libvips gives up at 100 warnings, so do we. */
    zoo_error_exit(cinfo);
  }
}

static void zoo_output_message(j_common_ptr cinfo) { (void)cinfo; }

static napi_value throw_error(napi_env env, const char *kind, const char *message) {
  char text[JMSG_LENGTH_MAX + 32];
  snprintf(text, sizeof text, "%s: %s", kind, message);
  napi_throw_error(env, NULL, text);
  return NULL;
}

/* The bytes of a Uint8Array/Buffer argument. */
static int bytes_of(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  bool is_typed;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value arraybuffer;
  size_t offset;
  void *ptr;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, &arraybuffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char *)ptr;
  return 1;
}

static void init_decompress(struct jpeg_decompress_struct *cinfo, struct zoo_error *err) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = zoo_error_exit;
  err->pub.emit_message = zoo_emit_message;
  err->pub.output_message = zoo_output_message;
  err->kind = NULL;
  err->message[0] = '\0';
  err->have_first_warning = 0;
  jpeg_create_decompress(cinfo);
}

static napi_value header(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *data;
  size_t length;
  if (argc < 1 || !bytes_of(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, NULL, "header(buf): buf must be a Uint8Array");
    return NULL;
  }
  struct jpeg_decompress_struct cinfo;
  struct zoo_error err;
  init_decompress(&cinfo, &err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return throw_error(env, err.kind, err.message);
  }
  jpeg_mem_src(&cinfo, data, (unsigned long)length);
  jpeg_read_header(&cinfo, TRUE);
  uint32_t dims[3] = {cinfo.image_width, cinfo.image_height, (uint32_t)cinfo.num_components};
  jpeg_destroy_decompress(&cinfo);
  napi_value result;
  napi_create_array_with_length(env, 3, &result);
  for (uint32_t i = 0; i < 3; i++) {
    napi_value v;
    napi_create_uint32(env, dims[i], &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

/* Pillow's cmyk2rgb: nk = 255 - K; out = nk - MULDIV255(C, nk), after un-inverting Adobe CMYK. */
static void cmyk_row_to_rgb(const JSAMPLE *src, unsigned char *dst, JDIMENSION width, int invert) {
  for (JDIMENSION x = 0; x < width; x++, src += 4, dst += 3) {
    int k = invert ? 255 - src[3] : src[3];
    int nk = 255 - k;
    for (int c = 0; c < 3; c++) {
      int v = invert ? 255 - src[c] : src[c];
      int t = v * nk + 128;
      dst[c] = (unsigned char)(nk - (((t >> 8) + t) >> 8));
    }
  }
}

static napi_value decode_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *data, *out;
  size_t length, out_length;
  if (argc < 2 || !bytes_of(env, argv[0], &data, &length) || !bytes_of(env, argv[1], &out, &out_length)) {
    napi_throw_type_error(env, NULL, "decodeInto(buf, out): buf and out must be Uint8Arrays");
    return NULL;
  }
  struct jpeg_decompress_struct cinfo;
  struct zoo_error err;
  /* volatile: modified after setjmp and read after a longjmp. */
  JSAMPLE *volatile cmyk_row = NULL;
  int size_mismatch = 0;
  init_decompress(&cinfo, &err);
  if (setjmp(err.jump)) {
    free(cmyk_row);
    jpeg_destroy_decompress(&cinfo);
    return throw_error(env, err.kind, err.message);
  }
  jpeg_mem_src(&cinfo, data, (unsigned long)length);
  jpeg_read_header(&cinfo, TRUE);
  int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  /* Gray is expanded to RGB by libjpeg-turbo itself (each channel = Y, as Pillow's l2rgb). */
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
  if ((size_t)cinfo.image_width * cinfo.image_height * 3 != out_length) {
    size_mismatch = 1;
  } else {
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    if (cmyk) {
      cmyk_row = (JSAMPLE *)malloc((size_t)cinfo.output_width * 4);
      if (!cmyk_row) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
      int invert = cinfo.saw_Adobe_marker;
      while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[1] = {cmyk_row};
        JDIMENSION y = cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, rows, 1);
        cmyk_row_to_rgb(cmyk_row, out + y * stride, cinfo.output_width, invert);
      }
    } else {
      /* Several rows per call (rec_outbuf_height), each straight into the caller's buffer. */
      JSAMPROW rows[16];
      while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION y = cinfo.output_scanline;
        int n = 0;
        for (; n < 16 && y + n < cinfo.output_height; n++) rows[n] = out + (y + n) * stride;
        jpeg_read_scanlines(&cinfo, rows, n);
      }
    }
    /* No jpeg_finish_decompress: it reads on to EOI and fails on a bad marker after the last row,
     * or a missing EOI, where libvips (and so the sharp path) returns the decoded image. */
  }
  free(cmyk_row);
  jpeg_destroy_decompress(&cinfo);
  if (size_mismatch) {
    napi_throw_range_error(env, NULL, "decodeInto: out must hold width*height*3 bytes");
    return NULL;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "header", NAPI_AUTO_LENGTH, header, NULL, &fn);
  napi_set_named_property(env, exports, "header", fn);
  napi_create_function(env, "decodeInto", NAPI_AUTO_LENGTH, decode_into, NULL, &fn);
  napi_set_named_property(env, exports, "decodeInto", fn);
  napi_value version;
  napi_create_int32(env, JPEG_LIB_VERSION, &version);
  napi_set_named_property(env, exports, "jpegLibVersion", version);
  return exports;
}
