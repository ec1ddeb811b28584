package com.baidu.paddle.lite;

/** Stub (compile-only): see README.txt. */
public class MobileConfig extends ConfigBase {
    public void setModelFromFile(String modelFile) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public String getModelFromFile() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public void setModelFromBuffer(String modelBuffer) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }
}
