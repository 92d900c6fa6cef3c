import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local bound to 127.0.0.1 only. Its command line has no bind-address option and its
 * Jetty server listens on every interface, so this launcher builds the server from the same
 * command line, points the connector at loopback before it opens, then starts it.
 *
 * The server also stops when its standard input closes: the runtime holds the other end, so a
 * runtime killed with SIGKILL takes its DynamoDB Local with it instead of leaving it holding the
 * port and the database files.
 */
public final class LoopbackDynamoDbLocal {
  private static final String LOOPBACK = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The Jetty server is private to DynamoDBProxyServer; failing here (a renamed field) is loud.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector network)) {
        throw new IllegalStateException("unexpected DynamoDB Local connector " + connector);
      }
      network.setHost(LOOPBACK);
    }
    proxy.start();
    stopWhenInputCloses(proxy);
    proxy.join();
  }

  private static void stopWhenInputCloses(DynamoDBProxyServer proxy) {
    Thread watcher = new Thread(() -> {
      InputStream in = System.in;
      try {
        while (in.read() != -1) {
          // the runtime never writes; anything read is ignored
        }
      } catch (IOException closed) {
        // a broken pipe means the same as end of input
      }
      try {
        proxy.stop();
      } catch (Exception ignored) {
        // exiting anyway
      }
      System.exit(0);
    }, "stop-when-input-closes");
    watcher.setDaemon(true);
    watcher.start();
  }
}
