package dev.once.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.MemoryStore;
import dev.once.Once;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The exchange's finish-once transition: two events that each finish an exchange, on two threads
 * at once. Exactly one acts; both callers are told the same completion; the record agrees.
 */
@JCStressTest
@Description("The body's end racing a failure: one finishes the exchange, both see its result.")
@Outcome(id = "0, 0, 2", expect = ACCEPTABLE, desc = "the body's end won: stored")
@Outcome(id = "3, 3, 3", expect = ACCEPTABLE, desc = "the failure won: released")
@State
public class ExchangeFinishOnce {
  private final MemoryStore store = Records.store(null);
  private final Once once = Once.builder(store).lease(Records.LEASE).build();
  private final Exchange exchange = claim();

  private Exchange claim() {
    try {
      return ((Decision.Execute) once.decide(new Records.Post())).exchange();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Actor
  public void bodyEnded(III_Result r) {
    Completion c = exchange.bodyEnded(Exchange.Response.of(201, List.of(), new byte[1]))
        .toCompletableFuture().join();
    r.r1 = c.ordinal();
  }

  @Actor
  public void failed(III_Result r) {
    Completion c = exchange.failedBeforeCommit(null).toCompletableFuture().join();
    r.r2 = c.ordinal();
  }

  @Arbiter
  public void after(III_Result r) {
    r.r3 = Records.state(store.peek(Records.KEY));
  }
}
