# The user-style evaluation set of the image normalisation (core/normalize*.c;
# its unit test, test_normalize, is registered in core.cmake).
# make_user_images writes digits from MNIST's test split in the forms users
# send (transparent canvases, JPEG photos, coloured ink, tiny, huge, thin,
# specks, GIF/BMP/PGM); eval_user_images measures a model on such a directory
# per kind. test_user_images runs both on 30 test digits with the bundled
# model, through the same decode + normalise + forward path as the server.
if(TARGET PkgConfig::STB)
  add_executable(make_user_images ${CMAKE_CURRENT_LIST_DIR}/make_user_images.c)
  target_link_libraries(make_user_images PRIVATE PkgConfig::STB m)
  # A test tool, not code under test: stb_image_write has shifts that
  # UBSan reports, so the sanitizer build leaves it uninstrumented.
  if(MNIST_SANITIZE)
    target_compile_options(make_user_images PRIVATE -fno-sanitize=all)
    target_link_options(make_user_images PRIVATE -fno-sanitize=all)
  endif()

  add_executable(eval_user_images ${CMAKE_CURRENT_LIST_DIR}/eval_user_images.c)
  target_link_libraries(eval_user_images PRIVATE mnist_cli)

  if(EXISTS ${MNIST_MODELS_DIR}/mnist-cnn.bin)
    add_test(NAME test_user_images_make
      COMMAND make_user_images ${MNIST_DATA_DIR} ${CMAKE_BINARY_DIR}/user_images 30)
    add_test(NAME test_user_images
      COMMAND eval_user_images ${MNIST_MODELS_DIR}/mnist-cnn.bin ${CMAKE_BINARY_DIR}/user_images
              -v --min-all 95 --min-kind 85)
    set_tests_properties(test_user_images_make PROPERTIES FIXTURES_SETUP user_images TIMEOUT 600)
    set_tests_properties(test_user_images PROPERTIES FIXTURES_REQUIRED user_images TIMEOUT 600)
  endif()
endif()
