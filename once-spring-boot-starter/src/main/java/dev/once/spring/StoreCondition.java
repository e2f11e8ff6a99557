package dev.once.spring;

import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.ConfigurationCondition;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether a store module's auto-configuration should define the store: when {@code once.store}
 * names its store, never when it names another, and as {@link #whenUnset} says when it is unset.
 * An invalid {@code once.store} matches nothing here; {@link OnceAutoConfiguration} reports it.
 */
abstract class StoreCondition extends SpringBootCondition implements ConfigurationCondition {
  private final String store;

  StoreCondition(String store) {
    this.store = store;
  }

  @Override
  public ConfigurationPhase getConfigurationPhase() {
    return ConfigurationPhase.REGISTER_BEAN;
  }

  @Override
  public ConditionOutcome getMatchOutcome(ConditionContext context,
      AnnotatedTypeMetadata metadata) {
    ConditionMessage.Builder message = ConditionMessage.forCondition("once " + store + " store");
    String chosen;
    try {
      chosen = new OnceBinding(context.getEnvironment()).store();
    } catch (InvalidOncePropertyException e) {
      return ConditionOutcome.noMatch(message.because(e.getMessage()));
    }
    if (chosen != null) {
      return new ConditionOutcome(store.equals(chosen), message.because("once.store is " + chosen));
    }
    return whenUnset(context, message);
  }

  /**
   * @param context the condition's context; its bean factory holds the bean definitions so far
   * @param message the start of the outcome's message
   * @return whether to define the store when {@code once.store} is unset
   */
  abstract ConditionOutcome whenUnset(ConditionContext context, ConditionMessage.Builder message);
}
