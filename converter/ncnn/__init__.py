"""ncnn as a conversion target: a Paddle program at its fixed input shape -> ONNX (paddle2onnx) -> ncnn
`.ncnn.param` / `.ncnn.bin` (pnnx), each tool in a child process, with the versions pinned and recorded."""
