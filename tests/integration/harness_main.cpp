// main() of the end-to-end tests: loads the freshly built plugin, runs GoogleTest.
#include <string>

#include <gst/gst.h>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string plugin = std::string(MMS_BUILD_ROOT) + "/gst/libgstmms.so";
  GError* err = nullptr;
  GstPlugin* p = gst_plugin_load_file(plugin.c_str(), &err);
  if (p == nullptr) {
    g_printerr("cannot load %s: %s\n", plugin.c_str(), err ? err->message : "?");
    return 1;
  }
  gst_object_unref(p);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
