/* Prints the faces that scrfddetect finds in a still or a video.
 *
 * Runs FILE through `filesrc ! decodebin ! videoconvert ! scrfddetect ! appsink`
 * and prints one JSON line per frame, read from the region-of-interest metas
 * that scrfddetect attaches to each buffer. The fields are those of
 * examples/python/print_faces.py: the ROI rectangle (x, y, width, height),
 * confidence, the normalised box (x_min ... y_max), landmarks for models with
 * landmarks, and pts in nanoseconds (null when the frame has none).
 *
 * Build and run:
 *   cc -o print_faces print_faces.c \
 *       $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-video-1.0 gstreamer-app-1.0)
 *   GST_PLUGIN_PATH=/path/to/plugin/folder ./print_faces FILE [NAME=VALUE ...]
 *
 * NAME=VALUE arguments set scrfddetect properties, e.g. score-threshold=0.3.
 */

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

#define N_LANDMARKS 5

/* Landmark names in model order; the fields are `<name>-x` and `<name>-y`. */
static const gchar *const landmark_names[N_LANDMARKS] = {
  "left-eye", "right-eye", "nose-tip", "left-mouth-corner", "right-mouth-corner",
};

static const gchar *const detection_fields[] = {
  "confidence", "x_min", "y_min", "x_max", "y_max",
};

/* How long one wait for a frame lasts before the bus is checked for errors. */
#define PULL_TIMEOUT (100 * GST_MSECOND)

/* Appends `value` with 17 significant digits, which read back as the same
 * double, and a dot as decimal separator whatever the locale. */
static void
append_number (GString * out, gdouble value)
{
  gchar text[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_dtostr (text, sizeof text, value));
}

/* Appends the face of `roi` as a JSON object. Returns FALSE, and appends
 * nothing, when its `detection` structure is missing or incomplete. */
static gboolean
append_face (GString * out, GstVideoRegionOfInterestMeta * roi)
{
  const GstStructure *detection, *landmarks;
  gdouble values[G_N_ELEMENTS (detection_fields)];
  gdouble points[N_LANDMARKS][2];
  gboolean has_landmarks;
  guint i;

  detection = gst_video_region_of_interest_meta_get_param (roi, "detection");
  if (detection == NULL)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (detection_fields); i++) {
    if (!gst_structure_get_double (detection, detection_fields[i], &values[i]))
      return FALSE;
  }

  landmarks = gst_video_region_of_interest_meta_get_param (roi, "landmarks");
  has_landmarks = landmarks != NULL;
  for (i = 0; has_landmarks && i < N_LANDMARKS; i++) {
    gchar *x = g_strdup_printf ("%s-x", landmark_names[i]);
    gchar *y = g_strdup_printf ("%s-y", landmark_names[i]);

    has_landmarks = gst_structure_get_double (landmarks, x, &points[i][0])
        && gst_structure_get_double (landmarks, y, &points[i][1]);
    g_free (x);
    g_free (y);
  }

  g_string_append_printf (out, "{\"x\":%u,\"y\":%u,\"width\":%u,\"height\":%u",
      roi->x, roi->y, roi->w, roi->h);
  for (i = 0; i < G_N_ELEMENTS (detection_fields); i++) {
    g_string_append_printf (out, ",\"%s\":", detection_fields[i]);
    append_number (out, values[i]);
  }
  if (has_landmarks) {
    g_string_append (out, ",\"landmarks\":[");
    for (i = 0; i < N_LANDMARKS; i++) {
      g_string_append (out, i == 0 ? "[" : ",[");
      append_number (out, points[i][0]);
      g_string_append_c (out, ',');
      append_number (out, points[i][1]);
      g_string_append_c (out, ']');
    }
    g_string_append_c (out, ']');
  }
  g_string_append_c (out, '}');
  return TRUE;
}

/* Prints the faces attached to `buffer`, in the order scrfddetect attached
 * them, as one JSON line. */
static void
print_frame (GstBuffer * buffer, guint64 frame)
{
  GString *line = g_string_new (NULL);
  GQuark face_type = g_quark_from_static_string ("face");
  gpointer state = NULL;
  GstMeta *meta;
  gboolean first = TRUE;

  g_string_append_printf (line, "{\"frame\":%" G_GUINT64_FORMAT ",\"pts\":", frame);
  if (GST_BUFFER_PTS_IS_VALID (buffer))
    g_string_append_printf (line, "%" G_GUINT64_FORMAT, GST_BUFFER_PTS (buffer));
  else
    g_string_append (line, "null");
  g_string_append (line, ",\"faces\":[");

  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) != NULL) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    gsize length = line->len;

    if (roi->roi_type != face_type)
      continue;
    if (!first)
      g_string_append_c (line, ',');
    if (append_face (line, roi))
      first = FALSE;
    else
      g_string_truncate (line, length);
  }

  g_string_append (line, "]}");
  puts (line->str);
  fflush (stdout);
  g_string_free (line, TRUE);
}

/* Builds the pipeline with `n_properties` NAME=VALUE settings for
 * scrfddetect. Returns NULL and sets `error` when it cannot. */
static GstElement *
build_pipeline (const gchar * path, gchar ** properties, gint n_properties,
    GError ** error)
{
  static const gchar *const head[] = {
    "filesrc", "name=source", "!", "decodebin", "!", "videoconvert", "!",
    "scrfddetect",
  };
  static const gchar *const tail[] = {
    "!", "appsink", "name=sink", "sync=false",
  };
  GPtrArray *description;
  GstElementFactory *factory;
  GstElement *pipeline, *source;
  GError *parse_error = NULL;
  guint i;

  factory = gst_element_factory_find ("scrfddetect");
  if (factory == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "the scrfddetect element was not found; set GST_PLUGIN_PATH to the "
        "folder that contains libgstscrfd.so");
    return NULL;
  }
  gst_object_unref (factory);

  /* gst_parse_launchv() quotes each argument, so values may contain spaces. */
  description = g_ptr_array_new ();
  for (i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (description, (gpointer) head[i]);
  for (i = 0; i < (guint) n_properties; i++)
    g_ptr_array_add (description, properties[i]);
  for (i = 0; i < G_N_ELEMENTS (tail); i++)
    g_ptr_array_add (description, (gpointer) tail[i]);
  g_ptr_array_add (description, NULL);

  /* For an unknown property or an invalid value, gst_parse_launchv() sets
   * the error but still returns a pipeline, so check the error. */
  pipeline = gst_parse_launchv ((const gchar **) description->pdata, &parse_error);
  g_ptr_array_free (description, TRUE);
  if (parse_error != NULL) {
    g_set_error (error, parse_error->domain, parse_error->code,
        "invalid scrfddetect settings: %s", parse_error->message);
    g_clear_error (&parse_error);
    gst_clear_object (&pipeline);
    return NULL;
  }

  source = gst_bin_get_by_name (GST_BIN (pipeline), "source");
  g_object_set (source, "location", path, NULL);
  gst_object_unref (source);
  return pipeline;
}

/* Returns the text of an error message from the bus; free it with g_free. */
static gchar *
error_text (GstMessage * message)
{
  GError *error = NULL;
  gchar *debug = NULL, *text;

  gst_message_parse_error (message, &error, &debug);
  text = g_strdup_printf ("%s: %s\n%s", GST_OBJECT_NAME (message->src),
      error->message, debug != NULL ? debug : "");
  g_clear_error (&error);
  g_free (debug);
  return text;
}

/* Plays the pipeline and prints each frame's faces. Returns NULL at the end
 * of the stream, else an error text to free with g_free. */
static gchar *
print_frames (GstElement * pipeline)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *message;
  gchar *error = NULL;
  guint64 frame = 0;

  if (gst_element_set_state (pipeline,
          GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (message != NULL) {
      error = error_text (message);
      gst_message_unref (message);
    } else {
      error = g_strdup ("the pipeline could not start");
    }
    goto done;
  }

  for (;;) {
    GstSample *sample =
        gst_app_sink_try_pull_sample (GST_APP_SINK (sink), PULL_TIMEOUT);

    if (sample != NULL) {
      print_frame (gst_sample_get_buffer (sample), frame++);
      gst_sample_unref (sample);
      continue;
    }
    if (gst_app_sink_is_eos (GST_APP_SINK (sink)))
      break;
    message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (message != NULL) {
      error = error_text (message);
      gst_message_unref (message);
      break;
    }
  }

done:
  gst_object_unref (bus);
  gst_object_unref (sink);
  return error;
}

int
main (int argc, char **argv)
{
  GstElement *pipeline;
  GError *error = NULL;
  gchar *stream_error;
  gint i;

  gst_init (&argc, &argv);

  if (argc < 2) {
    g_printerr ("usage: %s FILE [NAME=VALUE ...]\n"
        "Prints the faces scrfddetect finds in FILE, one JSON line per frame; "
        "NAME=VALUE sets a scrfddetect property, e.g. score-threshold=0.3.\n",
        argv[0]);
    return 2;
  }
  if (!g_file_test (argv[1], G_FILE_TEST_IS_REGULAR)) {
    g_printerr ("error: %s is not a file; pass a still or a video\n", argv[1]);
    return 2;
  }
  for (i = 2; i < argc; i++) {
    if (strchr (argv[i], '=') == NULL) {
      g_printerr ("error: invalid property setting '%s'; write NAME=VALUE, "
          "e.g. score-threshold=0.3\n", argv[i]);
      return 2;
    }
  }

  pipeline = build_pipeline (argv[1], argv + 2, argc - 2, &error);
  if (pipeline == NULL) {
    g_printerr ("error: %s\n", error->message);
    g_clear_error (&error);
    return 1;
  }

  stream_error = print_frames (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  if (stream_error != NULL) {
    g_printerr ("error: %s\n", stream_error);
    g_free (stream_error);
    return 1;
  }
  return 0;
}
