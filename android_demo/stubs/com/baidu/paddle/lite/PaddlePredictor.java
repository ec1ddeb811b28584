package com.baidu.paddle.lite;

/** Stub (compile-only): see README.txt. */
public class PaddlePredictor {
    public static PaddlePredictor createPaddlePredictor(ConfigBase config) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public Tensor getInput(int offset) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public Tensor getOutput(int offset) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public Tensor getTensor(String name) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public boolean run() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }
}
